import Foundation
import XCTest

/// install, uninstall, doctor, and the ways to name an execution.
final class InstallTests: XCTestCase {
    static let quick = Sandbox.quickPipeline()

    func testInstallHonoursCoreHooksPath() throws {
        let box = try Sandbox(install: false)
        try box.git(["config", "core.hooksPath", "custom-hooks"], in: box.server)
        let installed = try box.run(Sandbox.binary, ["install", box.server])
        XCTAssertTrue(installed.stdout.contains("custom-hooks/post-receive"), installed.stdout)
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: box.server + "/custom-hooks/post-receive"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: box.server + "/hooks/post-receive"))
        try box.git(["config", "pipeline.runnerIdleSeconds", "1"], in: box.server)
        let commit = try box.commit("one", files: [".pipeline.yml": Self.quick])
        // No runner yet: the hook journals the push, starts one and says so.
        let push = try box.push()
        XCTAssertTrue(push.stderr.contains("git-pipeline: main@\(commit.prefix(7)) recorded; the runner is starting"), push.stderr)
        XCTAssertTrue(try box.waitForNote(commit).hasPrefix("server #1 Succeeded"))
    }

    func testStateFolderIsPrivateAndStoreIsWAL() throws {
        let box = try Sandbox()
        var info = stat()
        XCTAssertEqual(stat(box.server + "/pipeline", &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o700)
        let mode = try box.run("sqlite3", [box.server + "/pipeline/state.sqlite", "PRAGMA journal_mode"], allowFailure: true)
        if mode.status == 0 { XCTAssertEqual(mode.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "wal") }
        let doctor = try box.pipeline(["doctor"])
        XCTAssertTrue(doctor.stdout.contains("integrity ok, journal wal"), doctor.stdout)
        XCTAssertTrue(doctor.stdout.contains("is private (0700)"), doctor.stdout)
    }

    func testHooksAreLinksToTheHookBinaryUnlessAnEarlierHookIsChained() throws {
        let box = try Sandbox(install: false)
        try "#!/bin/sh\nexit 0\n".write(toFile: box.server + "/hooks/post-receive", atomically: true, encoding: .utf8)
        chmod(box.server + "/hooks/post-receive", 0o755)
        for _ in 0..<2 { try box.run(Sandbox.binary, ["install", box.server]) }  // idempotent
        let hookBinary = (Sandbox.binary as NSString).deletingLastPathComponent + "/git-pipeline-hook"
        // pre-receive had no hook before: git runs the binary itself, no shell in between.
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: box.server + "/hooks/pre-receive")
        XCTAssertEqual((link as NSString).resolvingSymlinksInPath, (hookBinary as NSString).resolvingSymlinksInPath)
        // post-receive had one: a shim runs ours, then it.
        XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(atPath: box.server + "/hooks/post-receive"))
        let shim = try String(contentsOfFile: box.server + "/hooks/post-receive", encoding: .utf8)
        XCTAssertTrue(shim.contains("git-pipeline post-receive shim") && shim.contains("post-receive.pre-pipeline"), shim)
        XCTAssertTrue(try box.pipeline(["doctor"]).stdout.contains("ok: hook \(box.server)/hooks/pre-receive runs"))
        // A link whose binary went away: doctor says so and how to fix it.
        try FileManager.default.removeItem(atPath: box.server + "/hooks/pre-receive")
        try FileManager.default.createSymbolicLink(atPath: box.server + "/hooks/pre-receive", withDestinationPath: box.root + "/gone/git-pipeline-hook")
        let doctor = try box.pipeline(["doctor"], allowFailure: true)
        XCTAssertEqual(doctor.status, 1)
        XCTAssertTrue(doctor.stdout.contains("the hook runs \(box.root)/gone/git-pipeline-hook, which (or git-pipeline beside it) is missing"), doctor.stdout)
        let removed = try box.run(Sandbox.binary, ["uninstall", box.server]).stdout
        XCTAssertTrue(removed.contains("removed \(box.server)/hooks/pre-receive"), removed)
        XCTAssertFalse(FileManager.default.fileExists(atPath: box.server + "/hooks/pre-receive"))
        XCTAssertEqual(try String(contentsOfFile: box.server + "/hooks/post-receive", encoding: .utf8), "#!/bin/sh\nexit 0\n")
    }

    func testAPushIntoARepositoryWhoseStateFolderWentAwaySaysItIsNotInstalled() throws {
        let box = try Sandbox()
        try FileManager.default.removeItem(atPath: box.server + "/pipeline")
        try box.commit("one", files: [".pipeline.yml": Self.quick])
        let push = try box.push()
        XCTAssertEqual(push.status, 0)
        XCTAssertTrue(push.stderr.contains("git-pipeline: not installed in this repository (run `git pipeline install`); nothing recorded"), push.stderr)
    }

    func testDoctorSaysHowToFixAMissingHook() throws {
        let box = try Sandbox()
        try FileManager.default.removeItem(atPath: box.server + "/hooks/post-receive")
        let doctor = try box.pipeline(["doctor"], allowFailure: true)
        XCTAssertEqual(doctor.status, 1)
        XCTAssertTrue(doctor.stdout.contains("problem: no post-receive hook") && doctor.stdout.contains("git pipeline install"), doctor.stdout)
    }

    /// notes.displayRef follows pipeline.notesRef (a re-install after the setting changed moves it),
    /// leaves a display ref the admin chose alone, and goes with uninstall when install set it.
    func testTheDisplayedNotesRefFollowsTheSettingAndLeavesWithUninstall() throws {
        let box = try Sandbox()
        func display() throws -> String {
            try box.git(["config", "--get-all", "notes.displayRef"], in: box.server, allowFailure: true).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        XCTAssertEqual(try display(), "refs/notes/ci")
        try box.git(["config", "pipeline.notesRef", "refs/notes/results"], in: box.server)
        try box.run(Sandbox.binary, ["install", box.server])
        XCTAssertEqual(try display(), "refs/notes/results")
        try box.run(Sandbox.binary, ["uninstall", box.server])
        XCTAssertEqual(try display(), "", "uninstall removes the display ref it set")

        let mine = try Sandbox(install: false)
        try mine.git(["config", "notes.displayRef", "refs/notes/review"], in: mine.server)
        try mine.run(Sandbox.binary, ["install", mine.server])
        try mine.run(Sandbox.binary, ["uninstall", mine.server])
        XCTAssertEqual(try mine.git(["config", "notes.displayRef"], in: mine.server).stdout, "refs/notes/review\n", "the admin's own is kept")
    }

    /// `make install`'s script: `git help pipeline` opens the man page made from the commands, and
    /// `git pipeline sta<TAB>` completes through git's own bash completion.
    func testMakeInstallGivesAManPageAndCompletionsForGitPipeline() throws {
        let folder = (Sandbox.binary as NSString).deletingLastPathComponent
        guard FileManager.default.isExecutableFile(atPath: folder + "/generate-manual") else {
            throw XCTSkip("generate-manual is not built: run `make test` (it builds it)")
        }
        let box = try Sandbox(install: false)
        let package = AWSModelTests.package
        let destination = box.root + "/dest"
        try box.run("sh", [package + "/scripts/install.sh", folder, "/usr"], environment: ["DESTDIR": destination])
        let prefix = destination + "/usr"
        let environment = ["PATH": prefix + "/bin:" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
                           "MANPATH": prefix + "/share/man", "MANPAGER": "cat", "MANWIDTH": "100"]
        let manual = try box.run("git", ["help", "-m", "pipeline"], environment: environment)
        XCTAssertTrue(manual.stdout.contains("git-pipeline"), manual.output)
        XCTAssertTrue(manual.stdout.contains("rollback"), "every command is in the page:\n\(manual.stdout.prefix(2000))")
        for shell in ["zsh/site-functions/_git-pipeline", "fish/vendor_completions.d/git-pipeline.fish"] {
            XCTAssertGreaterThan((try? FileManager.default.attributesOfItem(atPath: prefix + "/share/" + shell)[.size] as? Int) ?? 0, 100, shell)
        }
        let gitCompletion = "/usr/share/bash-completion/completions/git"
        guard FileManager.default.fileExists(atPath: gitCompletion) else { throw XCTSkip("no git bash completion at \(gitCompletion)") }
        let script = """
            source /usr/share/bash-completion/bash_completion 2>/dev/null
            source \(gitCompletion)
            source \(prefix)/share/bash-completion/completions/git-pipeline
            complete() { COMPREPLY=(); COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<< "$1"
                         [ "${1: -1}" = " " ] && COMP_WORDS+=(""); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                         __git_func_wrap __git_main; echo "$1 => ${COMPREPLY[*]}"; }
            complete "git pipeline sta"
            complete "git pipeline history --"
            """
        let completed = try box.run("bash", ["-c", script], environment: environment).stdout
        XCTAssertTrue(completed.contains("git pipeline sta => start status\n"), completed)
        XCTAssertTrue(completed.contains("--json"), completed)
        XCTAssertTrue(completed.contains("--limit"), completed)
    }

    func testUninstallKeepsHistoryUnlessPurged() throws {
        let box = try Sandbox()
        let commit = try box.commit("one", files: [".pipeline.yml": Self.quick])
        try box.push()
        _ = try box.waitForNote(commit)
        let kept = try box.run(Sandbox.binary, ["uninstall", box.server])
        XCTAssertTrue(kept.stdout.contains("kept the history"), kept.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: box.server + "/hooks/post-receive"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: box.server + "/pipeline/state.sqlite"))
        try box.run(Sandbox.binary, ["uninstall", "--purge", box.server])
        XCTAssertFalse(FileManager.default.fileExists(atPath: box.server + "/pipeline"))
    }

    func testExecutionsAreNamedByNumberUUIDOrPrefix() throws {
        let box = try Sandbox()
        let commit = try box.commit("one", files: [".pipeline.yml": Self.quick])
        try box.push()
        _ = try box.waitForNote(commit)
        let history = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["history", "--json"]).stdout.utf8)) as! [String: Any]
        let id = try XCTUnwrap((history["pipelineExecutionSummaries"] as? [[String: Any]])?.first?["pipelineExecutionId"] as? String)
        for name in ["server#1", id, String(id.prefix(8))] {
            let shown = try box.pipeline(["show", name, "--json"]).stdout
            XCTAssertTrue(shown.contains(id), "show \(name)")
        }
        let missing = try box.pipeline(["show", "server#9"], allowFailure: true)
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("no execution server#9"), missing.stderr)
        let usage = try box.pipeline(["show"], allowFailure: true)
        XCTAssertEqual(usage.status, 2, usage.stderr)
    }

    func testSubmodulesAreSkippedWithALogLine() throws {
        let box = try Sandbox()
        try box.commit("base", files: [".pipeline.yml": Self.quick])
        let other = try box.git(["rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try box.git(["update-index", "--add", "--cacheinfo", "160000,\(other),vendor/lib"])
        try box.git(["commit", "-q", "-m", "add a submodule"])
        let commit = try box.git(["rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try box.push()
        XCTAssertTrue(try box.waitForNote(commit).contains("Succeeded"))
        let log = try box.pipeline(["logs", "server#1", "--action", "Source"]).stdout
        XCTAssertTrue(log.contains("submodule vendor/lib (") && log.contains("is an empty folder, as in git archive"), log)
    }
}
