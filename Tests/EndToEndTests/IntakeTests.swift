import Foundation
import XCTest

/// Exactly-once intake (SPEC §9): every ref update git accepted becomes one recorded push, whatever
/// dies when. Each test counts the updates the server really took and the executions recorded.
final class IntakeTests: XCTestCase {
    /// The executions recorded, by source revision (`history --json`).
    func executionsByRevision(_ box: Sandbox) throws -> [String: Int] {
        let json = try box.pipeline(["history", "--json", "--limit", "1000"]).stdout
        let summaries = (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["pipelineExecutionSummaries"] as? [[String: Any]] ?? []
        var counts: [String: Int] = [:]
        for summary in summaries {
            let revision = ((summary["sourceRevisions"] as? [[String: Any]])?.first?["revisionId"] as? String) ?? "?"
            counts[revision, default: 0] += 1
        }
        return counts
    }

    func tip(_ box: Sandbox, _ ref: String = "refs/heads/main") throws -> String {
        try box.git(["rev-parse", "--verify", "-q", ref], in: box.server, allowFailure: true).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts `git push` in the background.
    func startPush(_ box: Sandbox, from folder: String, refspec: String = "HEAD:main") throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "push", "-q", "origin", refspec]
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("GIT_") }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Pids of live processes whose command line contains `pattern`.
    func processes(_ pattern: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let line = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return line.contains(pattern) && !line.contains("pgrep") ? pid : nil
        }
    }

    /// While `push` runs, waits for `target` to name a process, then SIGKILLs it a random 0 to
    /// `within` µs later. True when a kill landed.
    func killDuring(_ push: Process, using generator: inout SystemRandomNumberGenerator, within: UInt32 = 3_000, _ target: () -> pid_t?) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while push.isRunning && Date() < deadline {
            if let pid = target() {
                usleep(UInt32.random(in: 0...within, using: &generator))
                return kill(pid, SIGKILL) == 0
            }
            usleep(200)
        }
        return false
    }

    func testHookKilledAtRandomInstantsLosesNoPushAndRecordsNoneTwice() throws {
        let box = try Sandbox()
        try box.git(["config", "pipeline.runnerIdleSeconds", "0"], in: box.server)
        // The hook lives about a millisecond: run it under strace, which holds each of its system
        // calls half a millisecond, so that a kill can land between any two of them. (The runner it
        // starts is not traced: posix_spawn's child is not followed without -f.)
        let hookBinary = (Sandbox.binary as NSString).deletingLastPathComponent + "/git-pipeline-hook"
        for name in ["pre-receive", "post-receive"] {
            let hook = box.server + "/hooks/" + name
            try FileManager.default.removeItem(atPath: hook)
            try "#!/bin/sh\nexec strace -qq -o /dev/null -e inject=all:delay_exit=500 '\(hookBinary)' \(name) \"$PPID\"\n"
                .write(toFile: hook, atomically: true, encoding: .utf8)
            chmod(hook, 0o755)
        }
        try box.commit("base", files: [".pipeline.yml": Sandbox.quickPipeline()])
        try box.push()
        var generator = SystemRandomNumberGenerator()
        var moved: [String] = [], kills = 0, targets: [String: Int] = [:]
        for round in 0..<24 {
            let before = try tip(box)
            let commit = try box.commit("round \(round)", files: ["n.txt": "\(round)\n"])
            let push = try startPush(box, from: box.clone)
            // A random one of the push's hook processes, at a random instant of its life: pre-receive
            // (before the journal, or after) or post-receive (before the journal, while it asks, or
            // as it starts a runner). The hook itself, not the strace holding it.
            let target = hookBinary + " " + ["pre-receive", "post-receive"].randomElement(using: &generator)!
            let killed = killDuring(push, using: &generator, within: 40_000) {
                processes(target).first { pid in
                    let line = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))).map { String(decoding: $0.map { $0 == 0 ? 32 : $0 }, as: UTF8.self) }
                    return line?.hasPrefix(target) ?? false
                }
            }
            push.waitUntilExit()
            if killed { kills += 1; targets[(target as NSString).lastPathComponent, default: 0] += 1 }
            // And the runner it may have started: no runner is up when the next push comes.
            for pid in processes("runner --git-dir \(box.server)") { kill(pid, SIGKILL) }
            let after = try tip(box)
            if after != before {
                XCTAssertEqual(after, commit)
                moved.append(after)
            } else {
                // Refused (pre-receive killed): the next round's push carries this commit too.
                XCTAssertNotEqual(push.terminationStatus, 0, "the ref did not move, yet the push said it did")
            }
        }
        // The next runner catches up on whatever the dead hooks left in the journal.
        try box.pipeline(["runner"])
        let counts = try executionsByRevision(box)
        print("intake: \(kills) kills (\(targets.map { "\($0.key) \($0.value)" }.sorted().joined(separator: ", "))), " +
              "\(moved.count + 1) ref updates, \(counts.values.reduce(0, +)) executions")
        XCTAssertGreaterThanOrEqual(kills, 20, "too few kills landed on a hook")
        for revision in moved { XCTAssertEqual(counts[revision], 1, "ref update to \(revision.prefix(7)) recorded \(counts[revision] ?? 0) times") }
        XCTAssertEqual(counts.values.reduce(0, +), moved.count + 1, "executions: \(counts)")
    }

    func testARunnerKilledWhileItAnswersTheHookLosesNoPush() throws {
        let box = try Sandbox()
        try box.git(["config", "pipeline.runnerIdleSeconds", "60"], in: box.server)
        let base = try box.commit("base", files: [".pipeline.yml": Sandbox.quickPipeline()])
        try box.push()
        _ = try box.waitForNote(base)
        var generator = SystemRandomNumberGenerator()
        var moved: [String] = [base], kills = 0
        for round in 0..<20 {
            // A runner is up to answer this push (the last one may have died in the last round).
            if processes("runner --git-dir \(box.server)").isEmpty { _ = try box.startRunner(foreground: false) }
            let commit = try box.commit("round \(round)")
            let push = try startPush(box, from: box.clone)
            // Once post-receive runs, the runner is answering it (or about to): kill the runner then.
            let killed = killDuring(push, using: &generator) {
                processes("hooks/post-receive").isEmpty ? nil : processes("runner --git-dir \(box.server)").first
            }
            push.waitUntilExit()
            if killed { kills += 1 }
            XCTAssertEqual(push.terminationStatus, 0, "a dying runner must not fail the push")
            if try tip(box) == commit { moved.append(commit) }
        }
        // The last runner goes; a new one catches up on the journal and idles out at once.
        for pid in processes("runner --git-dir \(box.server)") { kill(pid, SIGKILL) }
        try box.git(["config", "pipeline.runnerIdleSeconds", "1"], in: box.server)
        try box.pipeline(["runner"])
        let counts = try executionsByRevision(box)
        print("intake: runner killed \(kills) times while answering; \(moved.count) ref updates, \(counts.values.reduce(0, +)) executions")
        XCTAssertGreaterThanOrEqual(kills, 15)
        for revision in moved { XCTAssertEqual(counts[revision], 1, "\(revision.prefix(7)) recorded \(counts[revision] ?? 0) times") }
        XCTAssertEqual(counts.values.reduce(0, +), moved.count)
    }

    func testAStoppedRunnerAroundAPushRecordsItOnce() throws {
        let box = try Sandbox()
        try box.git(["config", "pipeline.runnerIdleSeconds", "60"], in: box.server)
        let first = try box.commit("one", files: [".pipeline.yml": Sandbox.quickPipeline()])
        try box.push()
        _ = try box.waitForNote(first)
        let runner = try XCTUnwrap(processes("runner --git-dir \(box.server)").first, "the first push starts a runner")
        kill(runner, SIGSTOP)
        let second = try box.commit("two")
        let started = Date()
        let push = try box.push()  // the hook waits for the stopped runner, then leaves the push in the journal to it
        let waited = Date().timeIntervalSince(started)
        XCTAssertTrue(push.stderr.contains("main@\(second.prefix(7)) recorded; the runner, busy, will queue"), push.stderr)
        XCTAssertGreaterThanOrEqual(waited, 3, "the hook should have waited for the runner")
        XCTAssertLessThan(waited, 8, "the hook waits 3 s for an answer, no longer")
        kill(runner, SIGCONT)
        _ = try box.waitForNote(second)
        let third = try box.commit("three")
        try box.push()
        _ = try box.waitForNote(third)
        XCTAssertEqual(try executionsByRevision(box), [first: 1, second: 1, third: 1])
    }

    func testThirtyConcurrentPushesWithNewLargeDefinitionsRecordEachOnce() throws {
        let box = try Sandbox()
        try box.commit("base", files: [".pipeline.yml": Sandbox.quickPipeline()])
        try box.push()
        let clients = (0..<30).map { box.root + "/client\($0)" }
        var commits: [String] = []
        for (index, folder) in clients.enumerated() {
            try box.git(["clone", "-q", box.server, folder], in: box.root)
            try box.git(["checkout", "-q", "-b", "b\(index)"], in: folder)
            // A new definition each, large enough that parsing it takes the runner a while.
            let stages = (0..<120).map { Fixture.stage("S\($0)", Fixture.commands("A", ["echo \(index) \($0)"])) }
            let definition = "stages:\n" + ([Fixture.quickStage()] + stages).map { "  " + $0.replacingOccurrences(of: "\n", with: "\n  ") }.joined(separator: "\n")
            try definition.write(toFile: folder + "/.pipeline.yml", atomically: true, encoding: .utf8)
            try box.git(["add", "-A"], in: folder)
            try box.git(["commit", "-q", "-m", "client \(index)"], in: folder)
            commits.append(try box.git(["rev-parse", "HEAD"], in: folder).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let pushes = try clients.enumerated().map { index, folder in try startPush(box, from: folder, refspec: "b\(index)") }
        for push in pushes { push.waitUntilExit() }
        XCTAssertEqual(pushes.filter { $0.terminationStatus != 0 }.count, 0)
        let deadline = Date().addingTimeInterval(120)
        var counts: [String: Int] = [:]
        while Date() < deadline {
            counts = try executionsByRevision(box)
            if commits.allSatisfy({ counts[$0] != nil }) { break }
            usleep(200_000)
        }
        for commit in commits { XCTAssertEqual(counts[commit], 1, "\(commit.prefix(7)) recorded \(counts[commit] ?? 0) times") }
        XCTAssertEqual(counts.values.reduce(0, +), 31)
        for pid in processes("runner --git-dir \(box.server)") { kill(pid, SIGTERM) }
    }

    func testAnExistingPreReceiveHookStillDecidesAndARefusedPushRecordsNothing() throws {
        let box = try Sandbox(install: false)
        try "#!/bin/sh\nwhile read old new ref; do case $ref in refs/heads/blocked) echo 'old hook: no pushes to blocked'; exit 1;; esac; done\n"
            .write(toFile: box.server + "/hooks/pre-receive", atomically: true, encoding: .utf8)
        chmod(box.server + "/hooks/pre-receive", 0o755)
        let installed = try box.run(Sandbox.binary, ["install", box.server]).stdout
        XCTAssertTrue(installed.contains("kept the existing pre-receive hook"), installed)
        try box.git(["config", "pipeline.runnerIdleSeconds", "1"], in: box.server)
        let commit = try box.commit("one", files: [".pipeline.yml": Sandbox.quickPipeline()])
        XCTAssertTrue(Sandbox.saysRecorded(try box.push(), commit))
        _ = try box.waitForNote(commit)
        // The old hook refuses: nothing moves, nothing runs (the journal's intent is dropped).
        let blocked = try box.git(["push", "origin", "HEAD:refs/heads/blocked"], allowFailure: true)
        XCTAssertNotEqual(blocked.status, 0)
        XCTAssertTrue(blocked.stderr.contains("old hook: no pushes to blocked"), blocked.stderr)
        try box.pipeline(["runner"])
        XCTAssertEqual(try executionsByRevision(box), [commit: 1])
        // Our guard of the notes refs still holds before the old hook is asked.
        try box.git(["notes", "--ref=ci", "add", "-f", "-m", "forged", commit])
        XCTAssertNotEqual(try box.git(["push", "origin", "refs/notes/ci"], allowFailure: true).status, 0)
        try box.run(Sandbox.binary, ["uninstall", box.server])
        XCTAssertTrue(try String(contentsOfFile: box.server + "/hooks/pre-receive", encoding: .utf8).contains("old hook: no pushes"))
    }

    func testClientsCannotWriteOrDeleteTheNotesRefs() throws {
        let box = try Sandbox()
        let commit = try box.commit("one", files: [".pipeline.yml": Sandbox.quickPipeline()])
        try box.push()
        _ = try box.waitForNote(commit)
        try box.git(["fetch", "-q", "origin", "refs/notes/*:refs/notes/*"])
        let real = try box.git(["rev-parse", "refs/notes/ci"], in: box.server).stdout
        try box.git(["notes", "--ref=ci", "add", "-f", "-m", "server #99 Succeeded", commit])
        let forged = try box.git(["push", "origin", "refs/notes/ci"], allowFailure: true)
        XCTAssertNotEqual(forged.status, 0)
        XCTAssertTrue(forged.stderr.contains("refs/notes/ci holds the CI results and only the runner on the server writes it"), forged.stderr)
        let deleted = try box.git(["push", "origin", ":refs/notes/ci-records"], allowFailure: true)
        XCTAssertNotEqual(deleted.status, 0, "deleting the records ref must be refused")
        // A custom notes ref is guarded the same way.
        try box.git(["config", "pipeline.notesRef", "refs/notes/builds"], in: box.server)
        try box.git(["notes", "--ref=builds", "add", "-f", "-m", "forged", commit])
        XCTAssertNotEqual(try box.git(["push", "origin", "refs/notes/builds"], allowFailure: true).status, 0)
        XCTAssertEqual(try box.git(["rev-parse", "refs/notes/ci"], in: box.server).stdout, real, "the server's notes did not change")
        // Other pushes still go through.
        let next = try box.commit("two")
        XCTAssertEqual(try box.push().status, 0)
        // Its note is in refs/notes/builds, or in refs/notes/ci when a runner started before the
        // setting changed is still alive (a runner reads its settings when it starts).
        XCTAssertEqual(try box.waitForExecutions(2).count, 2)
        let notes = try box.note(next, ref: "builds") + box.note(next, ref: "ci")
        XCTAssertTrue(notes.hasPrefix("server #2"), notes)
    }
}
