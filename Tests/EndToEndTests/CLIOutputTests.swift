import Foundation
import XCTest

/// What the commands print for people: nothing cut, nothing that contradicts itself.
final class CLIOutputTests: XCTestCase {
    /// A runner killed mid-execution: doctor says what happened (in progress under a runner that
    /// is gone), not that executions wait while it counts none waiting.
    func testDoctorNamesExecutionsLeftByADeadRunnerForWhatTheyAre() throws {
        let box = try Sandbox()
        try box.git(["config", "pipeline.runnerIdleSeconds", "30"], in: box.server)
        try box.commit("one", files: [".pipeline.yml": Fixture.pipeline(stages: Fixture.quickStage("sleep 60"))])
        try box.push()
        try box.waitForStatus("server#1", "InProgress")
        _ = try box.waitForProcess(withArgument: "60")
        let runners = try box.run("pgrep", ["-f", "git-pipeline runner --git-dir \(box.server)$"]).stdout.split(separator: "\n").compactMap { pid_t($0) }
        XCTAssertEqual(runners.count, 1, "the runner the push started")
        for runner in runners { kill(runner, SIGKILL) }
        let deadline = Date().addingTimeInterval(10)
        while box.runnerHoldsLock() && Date() < deadline { usleep(50_000) }
        let doctor = try box.pipeline(["doctor"], allowFailure: true)
        XCTAssertTrue(doctor.output.contains("runner: not running — 1 execution in progress, 0 waiting"), doctor.output)
        XCTAssertTrue(doctor.output.contains("1 execution was in progress under a runner that is gone"), doctor.output)
        XCTAssertFalse(doctor.output.contains("are waiting"), doctor.output)
        try box.pipeline(["stop", "server#1", "--abandon"])  // a runner recovers it, so the folder can go
        try box.waitForStatus("server#1", "Stopped")
    }

    /// In a clone, the commands say how to read the server's results, not to install into the clone.
    func testInAClonePeopleAreToldWhereTheResultsAre() throws {
        let box = try Sandbox()
        try box.commit("one", files: [".pipeline.yml": Sandbox.quickPipeline()])
        try box.push()
        let logs = try box.run(Sandbox.binary, ["logs", "server#1"], in: box.clone, allowFailure: true)
        XCTAssertNotEqual(logs.status, 0)
        XCTAssertTrue(logs.stderr.contains("this is a clone"), logs.stderr)
        XCTAssertTrue(logs.stderr.contains("git fetch origin 'refs/notes/*:refs/notes/*' && git log --notes=ci"), logs.stderr)
        XCTAssertTrue(logs.stderr.contains("git pipeline clone-setup"), logs.stderr)
        XCTAssertFalse(logs.stderr.contains("pipeline install"), logs.stderr)
    }

    /// clone-setup: every fetch brings the results; git log shows them; history, show and status
    /// read them offline from the records notes.
    func testCloneSetupBringsResultsAndTheCommandsReadThemOffline() throws {
        let box = try Sandbox()
        let commit = try box.commit("one", files: [".pipeline.yml": Sandbox.quickPipeline()])
        try box.push()
        XCTAssertTrue(try box.waitForNote(commit).contains(" Succeeded "))
        func here(_ arguments: [String], allowFailure: Bool = false) throws -> Sandbox.Result {
            try box.run(Sandbox.binary, arguments, in: box.clone, allowFailure: allowFailure)
        }
        XCTAssertTrue(try here(["status"]).stdout.contains("no results here: run `git fetch` (after `git pipeline clone-setup`)"))
        let setup = try here(["clone-setup"])
        XCTAssertTrue(setup.stdout.contains("remote origin now fetches refs/notes/ci and refs/notes/ci-records"), setup.stdout)
        try here(["clone-setup"])
        XCTAssertEqual(try box.git(["config", "--get-all", "remote.origin.fetch"]).stdout,
                       "+refs/heads/*:refs/remotes/origin/*\n+refs/notes/ci:refs/notes/ci\n+refs/notes/ci-records:refs/notes/ci-records\n", "once, however often it runs")
        XCTAssertEqual(try box.git(["config", "--get-all", "notes.displayRef"]).stdout, "refs/notes/ci\n")
        try box.git(["fetch", "-q", "origin"])
        let log = try box.git(["log", "-1", commit]).stdout
        XCTAssertTrue(log.contains("Notes (ci):") && log.contains("server #1 Succeeded"), "a plain git log shows the results:\n\(log)")
        let history = try here(["history"]).stdout
        XCTAssertTrue(history.contains("server #1      Succeeded   main@\(commit.prefix(7))"), history)
        let shown = try here(["show", "server#1"]).stdout
        XCTAssertTrue(shown.contains("  Build: Succeeded\n    Quick: Succeeded"), shown)
        XCTAssertTrue(try here(["status"]).stdout.contains("server on main: server #1 Succeeded"))
        XCTAssertEqual(try here(["history", "--json"], allowFailure: true).status, 2)
        XCTAssertEqual(try here(["show", "server#9"], allowFailure: true).status, 1)
        let bare = try box.run(Sandbox.binary, ["clone-setup"], in: box.server, allowFailure: true)
        XCTAssertEqual(bare.status, 2, bare.output)
    }

    func testHistoryShowsALongPipelineNameWithItsNumber() throws {
        let box = try Sandbox()
        let name = "a-pipeline-with-a-rather-long-name"
        try box.commit("one", files: [".pipeline.yml": Fixture.pipeline("name: \(name)", stages: Fixture.quickStage())])
        try box.push()
        try box.waitForStatus("\(name)#1", "Succeeded")
        let history = try box.pipeline(["history"]).stdout
        XCTAssertTrue(history.hasPrefix("\(name) #1 Succeeded"), history)
    }

    /// A revision or an action that is not there is said once, plainly, with what would work.
    func testAMissingRevisionOrActionIsSaidPlainly() throws {
        let box = try Sandbox()
        let empty = try box.pipeline(["start"], allowFailure: true)
        XCTAssertEqual(empty.status, 1, empty.output)
        XCTAssertTrue(empty.stderr.contains("has no commits yet: push one first, or name a revision with --revision"), empty.stderr)
        try box.commit("broken", files: [".pipeline.yml": "stages: [{name: Build, actions: [{name: A, category: Bild}]}]\n"])
        try box.push()
        try box.waitForStatus("server#1", "Failed")
        let start = try box.pipeline(["start", "--revision", "nope"], allowFailure: true)
        XCTAssertEqual(start.status, 2, start.output)
        XCTAssertEqual(start.stderr, "git-pipeline: start: `nope` names no branch, tag or commit here (any revision git accepts works: main~1, v1.0, a commit id)\n")
        let archive = try box.pipeline(["archive", "nope"], allowFailure: true)
        XCTAssertEqual(archive.status, 2, archive.output)
        XCTAssertFalse(archive.stderr.contains("libgit2"), archive.stderr)
        let logs = try box.pipeline(["logs", "server#1", "--action", "A"], allowFailure: true)
        XCTAssertTrue(logs.stderr.contains("server #1 has no action A (it ran none: Failed)"), logs.stderr)
    }
}

