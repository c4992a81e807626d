import Foundation
import XCTest

final class TransitionTests: XCTestCase {
    static let quick = Sandbox.quickPipeline("echo built")

    func testDisabledTransitionHoldsExecutionsAndEnableLetsTheLatestIn() throws {
        let box = try Sandbox()
        try box.git(["config", "pipeline.runnerIdleSeconds", "5"], in: box.server)
        let first = try box.commit("one", files: [".pipeline.yml": Self.quick])
        try box.push()
        _ = try box.waitForNote(first)
        let disabled = try box.pipeline(["transition", "disable", "server", "--stage", "Build", "--reason", "release freeze"])
        XCTAssertTrue(disabled.stdout.contains("no execution enters Build"), disabled.stdout)
        XCTAssertEqual(try box.pipeline(["transition", "disable", "server", "--stage", "Nope"], allowFailure: true).status, 1)
        // The first stage has no inbound transition (as in CodePipeline): refused, with what to do instead.
        let entrance = try box.pipeline(["transition", "disable", "server", "--stage", "Source"], allowFailure: true)
        XCTAssertEqual(entrance.status, 2, entrance.output)
        XCTAssertTrue(entrance.stderr.contains("`Source` is the first stage of server: it has no inbound transition"), entrance.stderr)
        XCTAssertTrue(entrance.stderr.contains("disable the transition into `Build`"), entrance.stderr)

        try box.commit("two")
        try box.push()
        sleep(1)
        let third = try box.commit("three")
        try box.push()
        // #2 waited in front of Build and #3 superseded it there.
        let deadline = Date().addingTimeInterval(20)
        while try box.executionStatus("server#2") != "Superseded" && Date() < deadline { usleep(100_000) }
        XCTAssertEqual(try box.executionStatus("server#2"), "Superseded")
        XCTAssertEqual(try box.executionStatus("server#3"), "InProgress")
        let state = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["status", "server", "--json"]).stdout.utf8)) as! [String: Any]
        let build = (state["stageStates"] as! [[String: Any]]).first { $0["stageName"] as? String == "Build" }!
        XCTAssertNil((state["stageStates"] as! [[String: Any]]).first?["inboundTransitionState"], "the first stage has no inbound transition")
        let transition = build["inboundTransitionState"] as! [String: Any]
        XCTAssertEqual(transition["enabled"] as? Bool, false)
        XCTAssertEqual(transition["disabledReason"] as? String, "release freeze")
        XCTAssertEqual((build["inboundExecutions"] as? [[String: Any]])?.map { $0["pipelineExecutionNumber"] as? Int }, [3])
        XCTAssertTrue(try box.pipeline(["status", "server"]).stdout.contains("transition disabled: release freeze"))

        let superseded = try box.pipeline(["retry", "server#2"], allowFailure: true)
        XCTAssertEqual(superseded.status, 1)
        XCTAssertTrue(superseded.stderr.contains("superseded execution cannot be retried"), superseded.stderr)

        try box.pipeline(["transition", "enable", "server", "--stage", "Build"])
        XCTAssertTrue(try box.waitForNote(third).hasPrefix("server #3 Succeeded"))
    }
}
