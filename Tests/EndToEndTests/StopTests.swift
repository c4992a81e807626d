import Foundation
@testable import PipelineEngine
import XCTest

/// stop and stop --abandon on running executions.
final class StopTests: XCTestCase {
    func definition(_ commands: [String]) -> String {
        Fixture.pipeline(stages: Fixture.stage("Build", Fixture.commands("Work", commands)), Fixture.shipStage)
    }

    func testStopLetsTheRunningActionFinishAndStartsNothingNew() throws {
        let box = try Sandbox()
        let marker = box.exchange + "/started"
        let commit = try box.commit("one", files: [".pipeline.yml": definition(["echo go > \(marker)", "sleep 3", "echo finished"])])
        try box.push()
        _ = try box.waitForFile(marker)
        let stop = try box.pipeline(["stop", "server#1", "--reason", "bad change"])
        XCTAssertTrue(stop.stdout.contains("server #1 Stopping"), stop.stdout)
        let summaries = try box.waitForExecutions(1)
        XCTAssertEqual(summaries.first?["status"] as? String, "Stopped")
        XCTAssertTrue((summaries.first?["statusSummary"] as? String ?? "").contains("bad change"))
        let shown = try box.pipeline(["show", "server#1", "--json"]).stdout
        XCTAssertFalse(shown.contains("\"Ship\""), "Deploy must not start after a stop")
        XCTAssertTrue(try box.pipeline(["logs", "server#1", "--action", "Work"]).stdout.contains("\nfinished\n"), "the running action finishes")
        XCTAssertTrue(try box.waitForNote(commit).hasPrefix("server #1 Stopped"))
        let again = try box.pipeline(["stop", "server#1"], allowFailure: true)
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("already ended: Stopped"), again.stderr)
    }

    func testAbandonKillsTheActionsProcessesAndReleasesTheStage() throws {
        let box = try Sandbox()
        let length = String(Int.random(in: 100_000...999_999))
        let commit = try box.commit("one", files: [".pipeline.yml": definition(["sleep \(length) &", "sleep 120"])])
        try box.push()
        let child = try box.waitForProcess(withArgument: length)
        XCTAssertTrue(ProcessSupervisor.isRunning(child))
        let started = Date()
        let stop = try box.pipeline(["stop", "server#1", "--abandon"])
        XCTAssertTrue(stop.stdout.contains("abandoned 1 running action"), stop.stdout)
        let summaries = try box.waitForExecutions(1)
        XCTAssertLessThan(Date().timeIntervalSince(started), 20)
        XCTAssertEqual(summaries.first?["status"] as? String, "Stopped")
        XCTAssertFalse(ProcessSupervisor.isRunning(child), "a process of the abandoned action survived")
        let state = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["show", "server#1", "--json"]).stdout.utf8)) as! [String: Any]
        let build = (state["stageStates"] as! [[String: Any]]).first { $0["stageName"] as? String == "Build" }!
        let work = (build["actionStates"] as! [[String: Any]]).first!["latestExecution"] as! [String: Any]
        XCTAssertEqual(work["status"] as? String, "Abandoned")
        XCTAssertEqual((build["latestExecution"] as? [String: Any])?["status"] as? String, "Stopped")
        // The stage lock was released: the next push runs Build.
        let next = try box.commit("two", files: [".pipeline.yml": definition(["echo second"])])
        try box.push()
        XCTAssertTrue(try box.waitForNote(next).hasPrefix("server #2 Succeeded"))
        XCTAssertTrue(try box.note(commit).hasPrefix("server #1 Stopped"))
    }
}
