import Foundation
import XCTest

/// Following an execution from the terminal: `logs --follow` streams a running action's log and
/// ends with it; `events --follow` starts at the end, `--since` where it is told.
final class LiveTerminalTests: XCTestCase {
    /// A command running in the background whose standard output is collected as it comes.
    final class Streaming: @unchecked Sendable {
        let process = Process()
        private let lock = NSLock()
        private var collected = Data()

        init(_ executable: String, _ arguments: [String], in directory: String) throws {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("GIT_") }
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            pipe.fileHandleForReading.readabilityHandler = { [self] handle in
                let data = handle.availableData
                lock.lock(); collected.append(data); lock.unlock()
            }
            try process.run()
        }

        var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: collected, as: UTF8.self) }

        func waitFor(_ needle: String, timeout: Double = 30) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if text.contains(needle) { return true }
                usleep(50_000)
            }
            return false
        }

        func waitForExit(timeout: Double = 30) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(50_000) }
            return !process.isRunning
        }
    }

    func testLogsFollowStreamsTheRunningActionAndEndsWithIt() throws {
        let box = try Sandbox()
        let go = box.exchange + "/go"
        let wait = "for i in $(seq 300); do test -e \"$PIPELINE_REPOSITORY/../exchange/go\" && break; sleep 0.1; done"
        let commit = try box.commit("one", files: [".pipeline.yml": Fixture.pipeline(stages: Fixture.stage("Build",
            Fixture.commands("Slow", ["echo before-$((1+1))", wait, "echo after-$((2+1))"])))])
        try box.push()
        try box.waitForStatus("server#1", "InProgress")
        let follow = try Streaming(Sandbox.binary, ["logs", "server#1", "--action", "Slow", "--follow"], in: box.server)
        defer { if follow.process.isRunning { follow.process.terminate() } }
        XCTAssertTrue(follow.waitFor("before-2\n"), follow.text)
        XCTAssertFalse(follow.text.contains("after-3\n"), follow.text)
        XCTAssertTrue(follow.process.isRunning, "it must wait for the action to end")
        // A line printed after the follower started reaches it, and the follower ends with the action.
        FileManager.default.createFile(atPath: go, contents: Data())
        XCTAssertTrue(follow.waitFor("after-3\n"), follow.text)
        XCTAssertTrue(follow.waitForExit(), "logs --follow did not end when the action did")
        XCTAssertEqual(follow.process.terminationStatus, 0)
        XCTAssertTrue(try box.waitForNote(commit).contains(" Succeeded "))
        // The followed text is the log file's, byte for byte.
        XCTAssertEqual(follow.text, try box.pipeline(["logs", "server#1", "--action", "Slow"]).stdout)

        // The whole execution, followed after it ended: every action, with headers, and at once.
        let all = try box.pipeline(["logs", "server#1", "--follow"]).stdout
        XCTAssertTrue(all.contains("==> Source/Source attempt 1 <==\n") && all.contains("==> Build/Slow attempt 1 <==\n"), all)
        let missing = try box.pipeline(["logs", "server#1", "--action", "Nope", "--follow"], allowFailure: true)
        XCTAssertEqual(missing.status, 1, missing.output)
    }

    func testEventsFollowStartsAtTheEndAndSinceWhereItIsTold() throws {
        let box = try Sandbox()
        try box.git(["config", "pipeline.runnerIdleSeconds", "30"], in: box.server)
        try box.commit("one", files: [".pipeline.yml": Sandbox.quickPipeline()])
        try box.push()
        try box.waitForStatus("server#1", "Succeeded")
        let earlier = try box.pipeline(["events", "--json"]).stdout.split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertGreaterThan(earlier.count, 3)

        let follow = try Streaming(Sandbox.binary, ["events", "--follow"], in: box.server)
        defer { follow.process.terminate() }
        usleep(500_000)
        try box.commit("two")
        try box.push()
        XCTAssertTrue(follow.waitFor("server #2  SUCCEEDED"), follow.text)
        XCTAssertFalse(follow.text.contains("server #1"), "events --follow starts at the end:\n\(follow.text)")

        // --since an event's id: that event and the ones after it.
        let third = try XCTUnwrap(earlier[2]["id"] as? String)
        let since = try box.pipeline(["events", "--json", "--since", third]).stdout.split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(since.first?["id"] as? String, third)
        XCTAssertEqual(since.count, try box.pipeline(["events", "--json"]).stdout.split(separator: "\n").count - 2)
        // --since a time after everything: nothing; a bad value: a usage error.
        XCTAssertEqual(try box.pipeline(["events", "--since", "2100-01-01T00:00:00Z"]).stdout, "")
        let bad = try box.pipeline(["events", "--since", "yesterday-ish"], allowFailure: true)
        XCTAssertEqual(bad.status, 2, bad.output)
    }

    /// `watch` into a pipe: the diagram again, under a `--- TIME` line, each time it changes.
    func testWatchRedrawsWhenAnExecutionMoves() throws {
        let box = try Sandbox()
        try box.commit("one", files: [".pipeline.yml": Sandbox.quickPipeline()])
        try box.push()
        try box.waitForStatus("server#1", "Succeeded")
        let watch = try Streaming(Sandbox.binary, ["watch"], in: box.server)
        defer { watch.process.terminate() }
        XCTAssertTrue(watch.waitFor("server #1"), watch.text)
        XCTAssertTrue(watch.text.hasPrefix("--- "), watch.text)
        XCTAssertFalse(watch.text.contains("\u{1B}["), "no terminal codes into a pipe")
        try box.commit("two")
        try box.push()
        XCTAssertTrue(watch.waitFor("server #2"), watch.text)
        let drawings = watch.text.components(separatedBy: "--- ").count - 1
        XCTAssertGreaterThanOrEqual(drawings, 2, watch.text)
        XCTAssertTrue(watch.process.isRunning, "watch goes on until it is stopped")
    }
}

