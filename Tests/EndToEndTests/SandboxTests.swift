import Foundation
import XCTest

/// Every action runs in bubblewrap by default (issue 11): the reproductions of a hostile pusher
/// (read every secret, forge a status in the store, delete the records ref) fail from inside; the
/// host is read-only, other repositories and the runner's environment are out of sight, no
/// capability is left, `Network: none` cuts the action off; `pipeline.sandbox=false` says so in
/// every note.
final class SandboxTests: XCTestCase {
    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap") else {
            throw XCTSkip("bubblewrap is not installed (make deps installs it)")
        }
    }

    func testAHostilePushCannotReadSecretsForgeResultsOrTouchTheHost() throws {
        let box = try Sandbox()
        try box.pipeline(["secret", "set", "prod/key", "--value", "never-seen-0xC0FFEE"])
        let outside = box.root + "/written-from-inside"
        let definition = Fixture.pipeline(stages: Fixture.stage("Build", Fixture.commands("Hostile", [
            #"cat "$PIPELINE_REPOSITORY/pipeline/secrets.json" && echo LEAKED-SECRETS || echo "no secrets file""#,
            #"sqlite3 "$PIPELINE_REPOSITORY/pipeline/state.sqlite" "update executions set status='Succeeded'" && echo FORGED || echo "no store""#,
            #"git --git-dir "$PIPELINE_REPOSITORY" update-ref -d refs/notes/ci-records && echo DELETED-RECORDS || echo "refs are read-only""#,
            #"git --git-dir "$PIPELINE_REPOSITORY" log --oneline -1 main && echo "the repository reads""#,
            // A hidden folder is a private tmpfs: what is written there never reaches the host.
            "touch \(outside); echo \"outside written in private\"",
            #"touch "$PIPELINE_REPOSITORY/hooks/pre-receive" && echo WROTE-HOOKS || echo "host read-only""#,
            "touch /usr/local/pwn-\(UUID().uuidString.prefix(6)) && echo WROTE-USR || echo \"usr read-only\"",
            "ls \(box.clone) && echo SAW-CLONE || echo \"other repositories hidden\"",
            #"mount -o remount,bind,rw / && echo REMOUNTED || echo "no capabilities""#,
            #"echo "runner variable: [${GP_RUNNER_ONLY-}]""#,
            #"echo "shadow: $(cat /etc/shadow | wc -c) bytes""#,
            "echo \"workspace writable\" > made-here.txt && cat made-here.txt",
            "exit 3",
        ])), Fixture.shipStage)
        let commit = try box.commit("hostile", files: [".pipeline.yml": definition])
        try box.run("git", ["push", "origin", "HEAD:main"], in: box.clone, environment: ["GP_RUNNER_ONLY": "runner-secret-value"])
        let note = try box.waitForNote(commit)
        XCTAssertTrue(note.hasPrefix("server #1 Failed"), "the action's own failure stands: \(note)")
        XCTAssertTrue(note.contains("exit status 3"), note)
        let log = try box.pipeline(["logs", "server#1", "--action", "Hostile"]).stdout
        // Output lines, not the `Running command` lines that echo the commands.
        let lines = Set(log.split(separator: "\n").map(String.init))
        for word in ["LEAKED-SECRETS", "FORGED", "DELETED-RECORDS", "WROTE-HOOKS", "WROTE-USR", "SAW-CLONE", "REMOUNTED"] {
            XCTAssertFalse(lines.contains(word), "\(word) in the log:\n\(log)")
        }
        for text in ["never-seen-0xC0FFEE", "runner-secret-value"] { XCTAssertFalse(log.contains(text), "\(text) in the log:\n\(log)") }
        for line in ["no secrets file", "no store", "refs are read-only", "the repository reads", "host read-only", "usr read-only",
                     "other repositories hidden", "no capabilities", "runner variable: []", "shadow: 0 bytes", "workspace writable"] {
            XCTAssertTrue(lines.contains(line), "\(line) missing:\n\(log)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: outside))
        XCTAssertEqual(try box.git(["rev-parse", "--verify", "-q", "refs/notes/ci-records"], in: box.server, allowFailure: true).status, 0)
        XCTAssertEqual(try box.executionStatus("server#1"), "Failed")
        XCTAssertFalse(note.contains("without the sandbox"), note)
    }

    func testNetworkNoneCutsTheActionOffAndTheDefaultKeepsIt() throws {
        let box = try Sandbox()
        // A listener on the loopback, the test's own.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, size) } }
        XCTAssertEqual(listen(listener, 8), 0)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &size) } }
        let port = UInt16(bigEndian: address.sin_port)
        let probe = "(exec 3<>/dev/tcp/127.0.0.1/\(port)) 2>/dev/null && echo CONNECTED || echo REFUSED"
        let definition = Fixture.pipeline(stages: Fixture.stage("Build",
            Fixture.commands("Online", [probe]),
            Fixture.commands("Offline", [probe, "cut -d: -f1 /proc/net/dev | tail -n +3"], more: ["configuration:", "  Network: none"])))
        let commit = try box.commit("network", files: [".pipeline.yml": definition])
        try box.push()
        XCTAssertTrue(try box.waitForNote(commit).hasPrefix("server #1 Succeeded"))
        func output(_ execution: String, _ action: String) throws -> [String] {
            try box.pipeline(["logs", execution, "--action", action]).stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        XCTAssertTrue(try output("server#1", "Online").contains("CONNECTED"))
        let offline = try output("server#1", "Offline")
        XCTAssertTrue(offline.contains("REFUSED"), "\(offline)")
        XCTAssertFalse(offline.contains("CONNECTED"), "\(offline)")
        XCTAssertTrue(offline.contains("lo") && !offline.contains { $0.hasPrefix("eth") }, "only the loopback: \(offline)")

        // `network: none` for the whole pipeline; an action may turn it back on.
        let second = try box.commit("network none", files: [".pipeline.yml": "network: none\n" + Fixture.pipeline(stages: Fixture.stage("Build",
            Fixture.commands("Online", [probe]), Fixture.commands("Allowed", [probe], more: ["configuration:", "  Network: on"])))])
        try box.push()
        XCTAssertTrue(try box.waitForNote(second).hasPrefix("server #2 Succeeded"))
        XCTAssertTrue(try output("server#2", "Online").contains("REFUSED"))
        XCTAssertTrue(try output("server#2", "Allowed").contains("CONNECTED"))
        // lint knows the word.
        try box.write([".pipeline.yml": "network: offline\n" + Sandbox.quickPipeline()])
        let lint = try box.run(Sandbox.binary, ["lint", ".pipeline.yml"], in: box.clone, allowFailure: true)
        XCTAssertNotEqual(lint.status, 0)
        XCTAssertTrue(lint.output.contains(".pipeline.yml:1:") && lint.output.contains("network `offline` is not `none` or `on`"), lint.output)
    }

    func testWithoutTheSandboxEveryNoteSaysSo() throws {
        let box = try Sandbox()
        try box.git(["config", "pipeline.sandbox", "false"], in: box.server)
        let commit = try box.commit("unconfined", files: [".pipeline.yml": Sandbox.quickPipeline("test -e \"$PIPELINE_REPOSITORY/pipeline/state.sqlite\"")])
        try box.push()
        let note = try box.waitForNote(commit)
        XCTAssertTrue(note.hasPrefix("server #1 Succeeded"), "the state folder is in reach without the sandbox: \(note)")
        XCTAssertTrue(note.contains("warning: actions ran without the sandbox (pipeline.sandbox=false)"), note)
        let records = try box.note(commit, ref: "ci-records")
        XCTAssertTrue(records.contains("\"warnings\":[\"warning: actions ran without the sandbox"), records)
    }

    /// bubblewrap's --die-with-parent is tied to the thread that started it: started from a pool
    /// thread that then idled out (a few seconds), an action was SIGKILLed mid-run. Actions long
    /// enough to outlive idle pool threads, in parallel and alone, all finish.
    func testALongActionIsNotKilledWhenTheThreadThatStartedItEnds() throws {
        let box = try Sandbox()
        // Short actions beside it grow the pool; once they are done, its threads idle out.
        let definition = Fixture.pipeline(stages: Fixture.stage("Build", Fixture.commands("Long", ["sleep 12", "echo long done"]),
                                                                Fixture.commands("Short1", ["echo short done"]),
                                                                Fixture.commands("Short2", ["echo short done"]),
                                                                Fixture.commands("Short3", ["sleep 1"])))
        let commit = try box.commit("long", files: [".pipeline.yml": definition])
        try box.push()
        let note = try box.waitForNote(commit, timeout: 90)
        XCTAssertTrue(note.hasPrefix("server #1 Succeeded"), note)
        XCTAssertTrue(try box.pipeline(["logs", "server#1", "--action", "Long"]).stdout.contains("\nlong done\n"))
    }
}
