import Foundation
import XCTest

/// A team's server: a bare repository made with `git init --shared=group`, two real users of the
/// group pushing to it. Each one's pushes are recorded and run, and nothing git-pipeline writes
/// makes the other's next push fail.
final class SharedRepositoryTests: XCTestCase {
    static let group = "gp-team", alice = "gp-alice", bob = "gp-bob"

    var root = ""

    override func setUpWithError() throws {
        guard getuid() == 0 else { return }
        _ = try Sandbox.runQuietly("/usr/sbin/groupadd", [Self.group])
        for user in [Self.alice, Self.bob] { _ = try Sandbox.runQuietly("/usr/sbin/useradd", ["-M", "-N", "-g", Self.group, "-s", "/bin/sh", user]) }
        root = NSTemporaryDirectory() + "gp-shared-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: root + "/srv", withIntermediateDirectories: true)
        chmod(root, 0o755)
        for user in [Self.alice, Self.bob] {
            try FileManager.default.createDirectory(atPath: root + "/" + user, withIntermediateDirectories: true)
            // git's own ownership check, as a team's server configures it for shared repositories
            // (local pushes drop GIT_CONFIG_* for receive-pack, so it goes in the user's config).
            try "[safe]\n\tdirectory = *\n".write(toFile: root + "/" + user + "/.gitconfig", atomically: true, encoding: .utf8)
            _ = try Sandbox.runQuietly("/bin/chown", ["-R", "\(user):\(Self.group)", root + "/" + user])
        }
        _ = try Sandbox.runQuietly("/bin/chown", ["\(Self.alice):\(Self.group)", root + "/srv"])
    }

    override func tearDown() {
        guard getuid() == 0, !root.isEmpty else { return }
        // Runners of either user go first, then their files and the users.
        _ = try? Sandbox.runQuietly("/usr/bin/pkill", ["-KILL", "-f", "runner --git-dir \(root)"])
        try? FileManager.default.removeItem(atPath: root)
        for user in [Self.alice, Self.bob] { _ = try? Sandbox.runQuietly("/usr/sbin/userdel", [user]) }
        _ = try? Sandbox.runQuietly("/usr/sbin/groupdel", [Self.group])
    }

    /// Runs `arguments` as `user`, with the environment a login over ssh gives (HOME, no $USER lie).
    @discardableResult
    func run(as user: String, _ arguments: [String], in directory: String? = nil, allowFailure: Bool = false) throws -> Sandbox.Result {
        let home = root + "/" + user
        let environment = [
            "HOME": home, "USER": user, "LOGNAME": user, "GIT_AUTHOR_NAME": user, "GIT_AUTHOR_EMAIL": "\(user)@example.com",
            "GIT_COMMITTER_NAME": user, "GIT_COMMITTER_EMAIL": "\(user)@example.com",
        ]
        let box = try XCTUnwrap(sandbox)
        // runuser sets HOME from the password database: `env` gives the test's home back.
        return try box.run("/usr/sbin/runuser", ["-u", user, "--", "/usr/bin/env", "HOME=\(home)"] + arguments, in: directory ?? home, environment: environment,
                           allowFailure: allowFailure)
    }

    var sandbox: Sandbox?
    var server: String { root + "/srv/app.git" }

    func waitForNote(_ commit: String, _ prefix: String) throws -> String {
        let deadline = Date().addingTimeInterval(60)
        var note = ""
        while Date() < deadline {
            note = (try? sandbox!.run("git", ["--git-dir", server, "notes", "--ref=ci", "show", commit], allowFailure: true).stdout) ?? ""
            if note.hasPrefix(prefix) { return note }
            usleep(100_000)
        }
        throw SandboxError(message: "no note `\(prefix)…` on \(commit): \(note)\n" + ((try? String(contentsOfFile: server + "/pipeline/runner.log", encoding: .utf8)) ?? ""))
    }

    func runnerAlive() -> Bool {
        ((try? Sandbox.runQuietly("/usr/bin/pgrep", ["-f", "runner --git-dir \(server)"])) ?? 1) == 0
    }

    func commitAndPush(as user: String, _ message: String, files: [String: String] = [:]) throws -> (commit: String, push: Sandbox.Result) {
        let clone = root + "/" + user + "/clone"
        for (path, text) in files {
            try text.write(toFile: clone + "/" + path, atomically: true, encoding: .utf8)
            _ = try Sandbox.runQuietly("/bin/chown", ["\(user):\(Self.group)", clone + "/" + path])
        }
        try run(as: user, ["git", "pull", "-q", "--rebase", "origin", "main"], in: clone, allowFailure: true)
        try run(as: user, ["git", "add", "-A"], in: clone)
        try run(as: user, ["git", "commit", "-q", "--allow-empty", "-m", message], in: clone)
        let commit = try run(as: user, ["git", "rev-parse", "HEAD"], in: clone).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return (commit, try run(as: user, ["git", "push", "origin", "HEAD:main"], in: clone, allowFailure: true))
    }

    func testTwoUsersOfTheGroupPushRecordAndRunWithoutBreakingEachOther() throws {
        guard getuid() == 0 else { print("SharedRepositoryTests: skipped: useradd and runuser need root"); return }
        sandbox = try Sandbox(install: false)
        try run(as: Self.alice, ["git", "init", "-q", "--bare", "--shared=group", "-b", "main", server], in: root + "/srv")
        let installed = try run(as: Self.alice, [Sandbox.binary, "install", server])
        XCTAssertTrue(installed.stdout.contains("shared with group \(Self.group)"), installed.stdout)
        try run(as: Self.alice, ["git", "--git-dir", server, "config", "pipeline.runnerIdleSeconds", "1"])
        for user in [Self.alice, Self.bob] { try run(as: user, ["git", "clone", "-q", server, root + "/" + user + "/clone"]) }

        let one = try commitAndPush(as: Self.alice, "one", files: [".pipeline.yml": Sandbox.quickPipeline("id -un")])
        XCTAssertTrue(one.push.stderr.contains("main@\(one.commit.prefix(7)) recorded; the runner is starting"), one.push.stderr)
        _ = try waitForNote(one.commit, "app #1 Succeeded")
        // Bob pushes while alice's runner is alive: it records his push over the group's socket.
        let two = try commitAndPush(as: Self.bob, "two")
        XCTAssertEqual(two.push.status, 0, two.push.stderr)
        XCTAssertTrue(two.push.stderr.contains("app #2 queued"), two.push.stderr)
        _ = try waitForNote(two.commit, "app #2 Succeeded")
        // Once the runner is gone, bob's push is recorded by his own hook and starts his runner.
        let deadline = Date().addingTimeInterval(20)
        while runnerAlive() && Date() < deadline { usleep(100_000) }
        let three = try commitAndPush(as: Self.bob, "three")
        XCTAssertTrue(three.push.stderr.contains("main@\(three.commit.prefix(7)) recorded; the runner is starting"), three.push.stderr)
        _ = try waitForNote(three.commit, "app #3 Succeeded")
        // Alice pushes after bob's runner wrote notes: nothing of ours is in her way.
        let four = try commitAndPush(as: Self.alice, "four")
        XCTAssertEqual(four.push.status, 0, "alice's push failed after bob's runner wrote: \(four.push.stderr)")
        _ = try waitForNote(four.commit, "app #4 Succeeded")
        // A runner started from alice's shell, whose umask is the usual 022, writes notes bob can
        // still push past.
        while runnerAlive() && Date() < deadline.addingTimeInterval(20) { usleep(100_000) }
        try run(as: Self.alice, ["/bin/sh", "-c", "umask 022; exec \"$0\" start --git-dir \"$1\"", Sandbox.binary, server])
        _ = try waitForNote(four.commit, "app #5 Succeeded")
        let six = try commitAndPush(as: Self.bob, "six")
        XCTAssertEqual(six.push.status, 0, "bob's push failed after alice's runner wrote notes: \(six.push.stderr)")
        _ = try waitForNote(six.commit, "app #6 Succeeded")
        XCTAssertEqual(try sandbox!.run("git", ["--git-dir", server, "rev-list", "--count", "main"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines), "5")

        // Everything written is the group's: objects and notes refs, the state and its SQLite files
        // (folders rwx; objects are read-only by git's design, so group-readable; the rest rw).
        let closed = try sandbox!.run("find", [server, "-not", "-path", "*/hooks/*", "(",
                                               "-type", "d", "-not", "-perm", "-g=rwxs", "-o",
                                               "-type", "f", "-path", "*/objects/*", "-not", "-perm", "-g=r", "-o",
                                               "-type", "f", "-not", "-path", "*/objects/*", "-not", "-perm", "-g=rw", ")", "-print"]).stdout
        XCTAssertEqual(closed, "", "not group read-write:\n\(closed)")
        let foreign = try sandbox!.run("find", [server, "-not", "-group", Self.group, "-print"]).stdout
        XCTAssertEqual(foreign, "", "not the repository's group:\n\(foreign)")
        for file in ["state.sqlite-wal", "state.sqlite-shm", "push-journal"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: server + "/pipeline/" + file), file)
        }
        // Who pushed is who the system says, not $USER.
        let history = try run(as: Self.bob, [Sandbox.binary, "show", "app#3", "--json", "--git-dir", server]).stdout
        XCTAssertTrue(history.contains("pushedBy\\\":\\\"\(Self.bob)"), history)

        // doctor, run by bob, is content — and names the path and the fix once a file is not the group's.
        XCTAssertEqual(try run(as: Self.bob, [Sandbox.binary, "doctor", "--git-dir", server], allowFailure: true).status, 0)
        chmod(server + "/pipeline/state.sqlite", 0o600)
        let doctor = try run(as: Self.bob, [Sandbox.binary, "doctor", "--git-dir", server], allowFailure: true)
        XCTAssertEqual(doctor.status, 1)
        XCTAssertTrue(doctor.stdout.contains("\(server)/pipeline/state.sqlite is not writable by \(Self.bob)") &&
                      doctor.stdout.contains("chgrp -R \(Self.group)"), doctor.stdout)
        chmod(server + "/pipeline/state.sqlite", 0o660)
    }

    func testAPushThatCannotBeRecordedSaysSoAndInstallMendsIt() throws {
        guard getuid() == 0 else { print("SharedRepositoryTests: skipped: useradd and runuser need root"); return }
        sandbox = try Sandbox(install: false)
        // Installed by alice before the repository was shared: the state is hers alone (0700).
        try run(as: Self.alice, ["git", "init", "-q", "--bare", "-b", "main", server], in: root + "/srv")
        try run(as: Self.alice, [Sandbox.binary, "install", server])
        try run(as: Self.alice, ["git", "--git-dir", server, "config", "pipeline.runnerIdleSeconds", "1"])
        // Then shared by hand, but for the state folder.
        try run(as: Self.alice, ["git", "--git-dir", server, "config", "core.sharedRepository", "group"])
        try run(as: Self.alice, ["/bin/sh", "-c", "cd \"$0\" && find . -path ./pipeline -prune -o ! -type l -exec chmod g+rwX {} + && find . -path ./pipeline -prune -o -type d -exec chmod g+s {} +", server])
        for user in [Self.alice, Self.bob] { try run(as: user, ["git", "clone", "-q", server, root + "/" + user + "/clone"]) }
        let one = try commitAndPush(as: Self.bob, "one", files: [".pipeline.yml": Sandbox.quickPipeline()])
        XCTAssertEqual(one.push.status, 0, "a push is never blocked by us: \(one.push.stderr)")
        XCTAssertTrue(one.push.stderr.contains("this push is not recorded") && one.push.stderr.contains("Permission denied"), one.push.stderr)
        XCTAssertFalse(one.push.stderr.contains("not installed"), one.push.stderr)
        let doctor = try run(as: Self.bob, [Sandbox.binary, "doctor", "--git-dir", server], allowFailure: true)
        XCTAssertEqual(doctor.status, 1)
        XCTAssertTrue(doctor.stdout.contains("\(server)/pipeline is not writable by \(Self.bob)"), doctor.stdout)
        // install again, now that the repository is shared: the state joins the group.
        XCTAssertTrue(try run(as: Self.alice, [Sandbox.binary, "install", server]).stdout.contains("shared with group \(Self.group)"))
        let two = try commitAndPush(as: Self.bob, "two")
        XCTAssertTrue(two.push.stderr.contains("main@\(two.commit.prefix(7)) recorded; the runner is starting"), two.push.stderr)
        _ = try waitForNote(two.commit, "app #1 Succeeded")
        XCTAssertEqual(try run(as: Self.bob, [Sandbox.binary, "doctor", "--git-dir", server], allowFailure: true).status, 0)
    }
}
