import Foundation
@testable import PipelineEngine
import XCTest

/// A runner under a service manager never idles out and never polls: only the hook service, the
/// store's change signal and its own executions wake it. Work recorded by another process
/// (`start`, `stop --abandon`) must reach it all the same.
final class WakeupTests: XCTestCase {
    func testAnIdleServiceRunnerWakesForWorkThatAnotherProcessRecorded() throws {
        let box = try Sandbox()
        let runner = try box.startRunner(foreground: true)
        defer { runner.terminate(); runner.waitUntilExit() }
        let length = String(Int.random(in: 100_000...999_999))
        try box.commit("one", files: [".pipeline.yml": Fixture.pipeline(stages: Fixture.quickStage("sleep \(length) & wait"))])
        try box.push()  // recorded by the runner itself, through hook.sock
        let child = try box.waitForProcess(withArgument: length)
        // `stop` only asks, in the store; the idle loop must see it and stop the action's group.
        let stop = try box.pipeline(["stop", "server#1", "--abandon"])
        XCTAssertTrue(stop.stdout.contains("abandoned 1 running action"), stop.stdout)
        XCTAssertEqual(try box.waitForExecutions(1, timeout: 20).first?["status"] as? String, "Stopped")
        XCTAssertFalse(ProcessSupervisor.isRunning(child), "the runner did not stop the abandoned action's processes")
        // `start` records from its own process; the runner finds a runner running and is not started again.
        try box.commit("two", files: [".pipeline.yml": Fixture.pipeline(stages: Fixture.quickStage("echo by hand"))])
        try box.git(["push", "-q", "origin", "HEAD:refs/heads/other"], in: box.clone)
        try box.pipeline(["start", "--revision", "other"])
        let summaries = try box.waitForExecutions(3, timeout: 20)
        XCTAssertEqual(summaries.filter { $0["status"] as? String == "Succeeded" }.count, 2, "\(summaries)")
        XCTAssertTrue(runner.isRunning, "a service's runner stays")
    }
}
