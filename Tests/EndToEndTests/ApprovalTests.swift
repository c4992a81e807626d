import Foundation
import XCTest

/// A pending approval holds its stage; approve and reject decide it.
final class ApprovalTests: XCTestCase {
    static let definition = Fixture.pipeline(stages: Fixture.quickStage(), """
        - name: Gate
          actions:
            - name: Manager
              category: Approval
              provider: Manual
              configuration:
                CustomData: "Check the staging site first"
        """, Fixture.shipStage)

    func waitUntil(_ what: String, timeout: Double = 30, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            usleep(100_000)
        }
        XCTFail("timed out waiting for \(what)")
    }

    func testPendingApprovalHoldsItsStageThenApproveAndReject() throws {
        let box = try Sandbox()
        try box.git(["config", "pipeline.runnerIdleSeconds", "5"], in: box.server)
        let first = try box.commit("one", files: [".pipeline.yml": Self.definition])
        try box.push()
        try waitUntil("the approval to wait") { try box.note(first).contains("waiting for approval: git pipeline approve server#1 --stage Gate --action Manager") }
        XCTAssertTrue(try box.pipeline(["logs", "server#1", "--action", "Manager"]).stdout.contains("Check the staging site first"))

        try box.commit("two")
        try box.push()
        sleep(1)
        let third = try box.commit("three")
        try box.push()
        try waitUntil("#2 to be superseded at the Gate") { try box.executionStatus("server#2") == "Superseded" }
        XCTAssertEqual(try box.executionStatus("server#1"), "InProgress")
        XCTAssertEqual(try box.executionStatus("server#3"), "InProgress")
        let state = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["status", "server", "--json"]).stdout.utf8)) as! [String: Any]
        let gate = (state["stageStates"] as! [[String: Any]]).first { $0["stageName"] as? String == "Gate" }!
        XCTAssertEqual((gate["inboundExecutions"] as? [[String: Any]])?.map { $0["pipelineExecutionNumber"] as? Int }, [3])

        let wrong = try box.pipeline(["approve", "server#3", "--stage", "Gate", "--action", "Manager"], allowFailure: true)
        XCTAssertEqual(wrong.status, 1, "#3 has no approval waiting yet")
        try box.pipeline(["approve", "server#1", "--stage", "Gate", "--action", "Manager", "--summary", "looks good"])
        XCTAssertTrue(try box.waitForNote(first).hasPrefix("server #1 Succeeded"))
        let approvedNote = try box.note(first)
        XCTAssertTrue(approvedNote.contains("approved by"), approvedNote)

        // #3 enters the Gate once #1 left it; a rejection fails it.
        try waitUntil("#3's approval") { try box.note(third).contains("waiting for approval") }
        try box.pipeline(["reject", "server#3", "--stage", "Gate", "--action", "Manager", "--summary", "not today"])
        let note = try box.waitForNote(third)
        XCTAssertTrue(note.hasPrefix("server #3 Failed"), note)
        XCTAssertTrue(note.contains("rejected by") && note.contains("not today"), note)
    }
}
