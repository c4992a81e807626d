import Foundation
import XCTest

/// EXEC names match literally, and text users gave us is printed with its control characters escaped.
final class LiteralNamesTests: XCTestCase {
    func testWildcardsMatchNothingAndControlCharactersAreEscaped() throws {
        let box = try Sandbox()
        let commit = try box.commit("one", files: [".pipeline.yml": Fixture.pipeline(stages: Fixture.quickStage("sleep 30"), Fixture.shipStage)])
        try box.push()
        try box.waitForStatus("server#1", "InProgress")
        for name in ["%", "_", "", "%%", "0%"] {
            let shown = try box.pipeline(["show", name], allowFailure: true)
            XCTAssertEqual(shown.status, 1, "`show \(name)` matched something: \(shown.stdout)")
            XCTAssertEqual(try box.pipeline(["stop", name], allowFailure: true).status, 1, "`stop \(name)` acted")
        }
        XCTAssertEqual(try box.executionStatus("server#1"), "InProgress", "no wildcard stopped it")
        // A unique prefix of the UUID still works.
        let history = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["history", "--json"]).stdout.utf8)) as! [String: Any]
        let id = try XCTUnwrap(((history["pipelineExecutionSummaries"] as? [[String: Any]])?.first?["pipelineExecutionId"] as? String))
        XCTAssertTrue(try box.pipeline(["show", String(id.prefix(8))]).stdout.contains("server #1"))
        // An ANSI escape and a forged line in a reason reach the terminal and the note escaped.
        try box.pipeline(["transition", "disable", "server", "--stage", "Deploy", "--reason", "\u{1b}[2Jfreeze\nserver #9 Succeeded"])
        let status = try box.pipeline(["status", "server"]).stdout
        XCTAssertFalse(status.contains("\u{1b}"), status)
        XCTAssertTrue(status.contains("transition disabled: \\u{1b}[2Jfreeze\\nserver #9 Succeeded"), status)
        try box.pipeline(["stop", "server#1", "--abandon", "--reason", "\u{1b}]0;owned\u{7}"])
        let note = try box.waitForNote(commit)
        XCTAssertFalse(note.contains("\u{1b}") || note.contains("\u{7}"), note)
        XCTAssertTrue(note.contains("\\u{1b}]0;owned\\u{7}"), note)
    }
}
