import Foundation
import XCTest

/// Approval notifications (CodePipeline's approval message on stdin) and the approval timeout.
final class ApprovalTimeoutTests: XCTestCase {
    func testNotificationsAndTimeout() throws {
        let box = try Sandbox()
        try box.git(["config", "pipeline.runnerIdleSeconds", "5"], in: box.server)
        // A pipeline ending in a comment: the message reaches the whole command.
        try box.git(["config", "pipeline.notify", "tee \(box.root)/from-config.json | wc -c > \(box.root)/count # keep a copy"], in: box.server)
        let definition = """
            stages:
              - name: Gate
                actions:
                  - name: Release
                    category: Approval
                    provider: Manual
                    timeoutInMinutes: 1
                    configuration:
                      CustomData: "Check the release notes"
                      ExternalEntityLink: "https://example.com/release"
                      NotificationCommand: "cat > \(box.exchange)/from-action.json"
                  - name: Security
                    category: Approval
                    provider: Manual
                    timeoutInMinutes: 1
            """
        let commit = try box.commit("gate", files: [".pipeline.yml": definition])
        let started = Date()
        try box.push()
        let message = try box.waitForFile(box.exchange + "/from-action.json")
        let json = try JSONSerialization.jsonObject(with: Data(message.utf8)) as! [String: Any]
        let approval = json["approval"] as! [String: Any]
        XCTAssertEqual(approval["pipelineName"] as? String, "server")
        XCTAssertEqual(approval["stageName"] as? String, "Gate")
        XCTAssertEqual(approval["actionName"] as? String, "Release")
        XCTAssertEqual(approval["customData"] as? String, "Check the release notes")
        XCTAssertEqual(approval["externalEntityLink"] as? String, "https://example.com/release")
        XCTAssertEqual(approval["approveCommand"] as? String, "git pipeline approve server#1 --stage Gate --action Release")
        XCTAssertNotNil(approval["expires"] as? String)
        let fromConfig = try box.waitForFile(box.root + "/from-config.json")
        XCTAssertTrue(fromConfig.contains("\"actionName\" : \"Security\""), fromConfig)
        XCTAssertEqual(Int(try box.waitForFile(box.root + "/count").trimmingCharacters(in: .whitespacesAndNewlines)), fromConfig.utf8.count)

        // Nobody decides: after timeoutInMinutes both end Failed, and so does the execution.
        let note = try box.waitForNote(commit, timeout: 120)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 59, "the approval ended before its timeout")
        XCTAssertTrue(note.contains(" Failed "), note)
        XCTAssertTrue(note.contains("no decision within 1 minutes"), note)
        let decided = try box.pipeline(["approve", "server#1", "--stage", "Gate", "--action", "Release"], allowFailure: true)
        XCTAssertEqual(decided.status, 1, "a timed-out approval cannot be approved any more: \(decided.output)")
    }
}
