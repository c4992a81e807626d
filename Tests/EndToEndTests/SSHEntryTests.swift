import Foundation
import XCTest

/// `git-pipeline ssh-command` behind a real sshd on 127.0.0.1: a key that may push, fetch and run
/// the pipeline commands as its user, and nothing else.
final class SSHEntryTests: XCTestCase {
    struct Host {
        let folder: String
        let port: Int

        let box: Sandbox

        func ssh(_ key: String, _ command: String?) throws -> Sandbox.Result {
            try box.run("/usr/bin/ssh", sshOptions(key) + ["root@127.0.0.1"] + (command.map { [$0] } ?? []), allowFailure: true)
        }

        func sshOptions(_ key: String) -> [String] {
            ["-F", "/dev/null", "-i", folder + "/" + key, "-p", String(port), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
             "-o", "StrictHostKeyChecking=accept-new", "-o", "UserKnownHostsFile=" + folder + "/known_hosts", "-o", "LogLevel=ERROR"]
        }

        func stop() {
            if let pid = (try? String(contentsOfFile: folder + "/sshd.pid", encoding: .utf8)).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                kill(pid, SIGTERM)
            }
        }

        var gitSSH: String { "ssh " + sshOptions("alice").joined(separator: " ") }
    }

    func startHost(root: String, in folder: String, box: Sandbox) throws -> Host {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd") else { throw XCTSkip("openssh-server is not installed: run `make deps`") }
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        for key in ["host_key", "alice", "bob"] {
            try box.run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", key, "-f", folder + "/" + key])
        }
        var keys = ""
        for user in ["alice", "bob"] {
            let publicKey = try String(contentsOfFile: folder + "/\(user).pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            keys += "command=\"\(Sandbox.binary) ssh-command --user \(user) --root \(root)\",no-pty,no-port-forwarding \(publicKey)\n"
        }
        try keys.write(toFile: folder + "/authorized_keys", atomically: true, encoding: .utf8)
        let port = Int(try box.run("python3", ["-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines))!
        let config = """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(folder)/host_key
            PidFile \(folder)/sshd.pid
            AuthorizedKeysFile \(folder)/authorized_keys
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            SetEnv PATH=\(ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")

            """
        try config.write(toFile: folder + "/sshd_config", atomically: true, encoding: .utf8)
        // As a daemon of its own (stopped by its pid file): Foundation's Process, watching a child
        // that never ends, blocks in waitpid and stalls every other Process of the test.
        try box.run("/usr/sbin/sshd", ["-f", folder + "/sshd_config", "-E", folder + "/sshd.log"])
        let host = Host(folder: folder, port: port, box: box)
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if try host.ssh("alice", nil).stderr.contains("there is no shell here") { return host }
            usleep(200_000)
        }
        host.stop()
        throw SandboxError(message: "sshd did not come up: \((try? String(contentsOfFile: folder + "/sshd.log", encoding: .utf8)) ?? "")")
    }

    func testAKeyPushesAndRunsPipelineCommandsAsItsUserAndNothingElse() throws {
        let box = try Sandbox()
        let folder = box.root + "/ssh"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let host = try startHost(root: box.root, in: folder, box: box)
        defer { host.stop() }
        // The hosting account (root here) believes the key's user that ssh-command passes on.
        try box.git(["config", "pipeline.hostingUser", String(cString: getpwuid(geteuid())!.pointee.pw_name)], in: box.server)

        let welcome = try host.ssh("alice", nil)
        XCTAssertNotEqual(welcome.status, 0)
        XCTAssertTrue(welcome.stderr.contains("hi alice: this key pushes and fetches"), welcome.stderr)

        // A push over ssh runs as alice: the execution says who pushed.
        let commit = try box.commit("over ssh", files: [".pipeline.yml": Sandbox.quickPipeline()])
        let url = "ssh://root@127.0.0.1:\(host.port)/server.git"
        let push = try box.run("git", ["push", url, "HEAD:main"], in: box.clone, environment: ["GIT_SSH_COMMAND": host.gitSSH])
        XCTAssertTrue(push.stderr.contains("main@\(commit.prefix(7))"), push.stderr)
        try box.waitForStatus("server#1", "Succeeded")
        let shown = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["show", "server#1", "--json"]).stdout.utf8)) as? [String: Any]
        let trigger = (shown?["pipelineExecution"] as? [String: Any])?["trigger"] as? [String: Any]
        XCTAssertTrue((trigger?["triggerDetail"] as? String)?.contains("\"pushedBy\":\"alice (as ") == true, "\(String(describing: trigger))")
        let fetched = try box.run("git", ["ls-remote", url, "main"], in: box.clone, environment: ["GIT_SSH_COMMAND": host.gitSSH])
        XCTAssertTrue(fetched.stdout.hasPrefix(commit), fetched.output)

        // Pipeline commands, as alice: the audit trail names her.
        let history = try host.ssh("alice", "pipeline server.git history")
        XCTAssertEqual(history.status, 0, history.stderr)
        XCTAssertTrue(history.stdout.contains("server #1"), history.stdout)
        let started = try host.ssh("alice", "pipeline server start")
        XCTAssertEqual(started.status, 0, started.stderr)
        try box.waitForStatus("server#2", "Succeeded")
        let events = try box.pipeline(["events"]).stdout
        XCTAssertTrue(events.contains("StartPipelineExecution by alice"), events)
        let logs = try host.ssh("alice", "git pipeline 'server.git' logs server#2 --action Quick")
        XCTAssertTrue(logs.stdout.contains("echo quick"), logs.stdout + logs.stderr)

        // Nothing else: no shell, no other command, no other repository, no other folder.
        for (command, said) in [("ls /", "is not allowed here"), ("pipeline server.git install", "`pipeline install` is not allowed over ssh"),
                                ("pipeline server.git secret list", "`pipeline secret` is not allowed over ssh"),
                                ("pipeline server.git status --git-dir /etc", "--git-dir is not allowed"),
                                ("pipeline server.git archive HEAD -o /tmp/x.zip", "-o is not allowed over ssh"),
                                ("pipeline ../../etc status", "no repository ../../etc here"),
                                ("git-upload-pack '/etc'", "no repository /etc here"),
                                ("pipeline server.git status; touch /tmp/owned", "`pipeline status;` is not allowed")] {
            let refused = try host.ssh("alice", command)
            XCTAssertNotEqual(refused.status, 0, command)
            XCTAssertTrue(refused.stderr.contains(said), "\(command): \(refused.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/owned"))

        // pipeline.sshUsers: only the users it lists.
        try box.git(["config", "pipeline.sshUsers", "bob"], in: box.server)
        let alice = try host.ssh("alice", "pipeline server.git status")
        XCTAssertTrue(alice.stderr.contains("alice may not use server.git"), alice.stderr)
        let pushRefused = try box.run("git", ["push", url, "HEAD:other"], in: box.clone, environment: ["GIT_SSH_COMMAND": host.gitSSH], allowFailure: true)
        XCTAssertNotEqual(pushRefused.status, 0, pushRefused.output)
        XCTAssertEqual(try host.ssh("bob", "pipeline server.git status").status, 0)
    }
}
