@testable import PipelineEngine
import XCTest

/// The human note drawn from records alone (SPEC §1): pure, no repository.
final class NoteRendererTests: XCTestCase {
    func record(number: Int, status: String, stages: [NoteRecord.Stage], summary: String? = nil, error: String? = nil) -> NoteRecord {
        NoteRecord(schema: 1, revision: 7, pipeline: "app", pipelineExecutionId: "id-\(number)", number: number, status: status,
                   statusSummary: summary, executionMode: "SUPERSEDED", ref: "refs/heads/main", commit: String(repeating: "a", count: 40),
                   triggerType: "WebhookV2", startTime: "2026-11-22T10:04:00Z", endTime: nil, lastUpdateTime: "2026-11-22T10:04:41Z",
                   durationSeconds: 41, definitionPath: ".pipeline.yml", definitionError: error, sourceArtifact: "abc123", stages: stages)
    }

    func action(_ name: String, _ status: String?, _ seconds: Double? = nil, summary: String? = nil, error: String? = nil,
                command: String? = nil) -> NoteRecord.Action {
        NoteRecord.Action(name: name, status: status, attempt: 1, durationSeconds: seconds, summary: summary, errorMessage: error, failedCommand: command)
    }

    func testASucceededExecutionDrawsOneLinePerStage() {
        let note = NoteRenderer.render([record(number: 12, status: "Succeeded", stages: [
            .init(name: "Source", status: "Succeeded", actions: [action("Source", "Succeeded", 0.1)]),
            .init(name: "Build", status: "Succeeded", actions: [action("Compile", "Succeeded", 35), action("Lint", "Succeeded", 3.1, summary: "tests 124 passed")]),
            .init(name: "Deploy", status: nil, actions: [action("Staging", nil)]),
        ])], notesName: "ci")
        XCTAssertEqual(note, """
            app #12 Succeeded  main  41s  2026-11-22 10:04 UTC
              Source  Succeeded  Source 0.1s
              Build   Succeeded  Compile 35.0s  Lint 3.1s  tests 124 passed
              Deploy  —
              SourceArtifact sha256:abc123

            """)
    }

    func testAFailedActionIsNamedWithItsCommandAndLog() {
        let note = NoteRenderer.render([record(number: 3, status: "Failed", stages: [
            .init(name: "Build", status: "Failed", actions: [action("Test", "Failed", 2, error: "exit status 1", command: "make test")]),
        ], summary: "stage Build failed")], notesName: "ci")
        XCTAssertTrue(note.hasPrefix("app #3 Failed  main  41s"), note)
        XCTAssertTrue(note.contains("  Build  Failed  Test 2.0s failed\n"), note)
        XCTAssertTrue(note.contains("    Test: command `make test` failed (exit status 1)\n"), note)
        XCTAssertTrue(note.contains("    log: git pipeline logs app#3 --action Test\n"), note)
        XCTAssertTrue(note.hasSuffix("  stage Build failed\n"), note)
    }

    func testTheLatestExecutionIsDrawnAndEveryOtherGetsALine() {
        var older = record(number: 1, status: "Failed", stages: [])
        older.ref = "refs/heads/feature/x"
        let newer = record(number: 2, status: "Succeeded", stages: [])
        let oldest = record(number: 0, status: "Succeeded", stages: [])
        let note = NoteRenderer.render([older, newer, oldest], notesName: "ci")
        XCTAssertTrue(note.hasPrefix("app #2 Succeeded"), note)
        XCTAssertTrue(note.hasSuffix("""
              SourceArtifact sha256:abc123
              also on this commit: app #1 Failed  feature/x  41s  2026-11-22 10:04 UTC
              also on this commit: app #0 Succeeded  main  41s  2026-11-22 10:04 UTC

            """), note)
    }

    func testAnAbandonedActionIsNotCalledFailed() {
        let note = NoteRenderer.render([record(number: 4, status: "Stopped", stages: [
            .init(name: "Build", status: "Stopped", actions: [action("Test", "Abandoned", 2, error: "exit status 143", command: "sleep 60")]),
        ])], notesName: "ci")
        XCTAssertTrue(note.contains("  Build  Stopped  Test 2.0s abandoned\n"), note)
        XCTAssertTrue(note.contains("    Test: abandoned by a stop while running `sleep 60`\n"), note)
        XCTAssertFalse(note.contains("143"), note)
    }

    func testAnInvalidDefinitionSaysHowToFixIt() {
        let note = NoteRenderer.render([record(number: 1, status: "Failed", stages: [], error: ".pipeline.yml:3:5: error: unknown key `actons`")],
                                       notesName: "ci")
        XCTAssertTrue(note.contains("  .pipeline.yml:3:5: error: unknown key `actons`\n"), note)
        XCTAssertTrue(note.contains("fix .pipeline.yml and push again"), note)
    }

    func testDurations() {
        XCTAssertEqual(NoteRenderer.duration(0.14, precise: true), "0.1s")
        XCTAssertEqual(NoteRenderer.duration(41.4, precise: false), "41s")
        XCTAssertEqual(NoteRenderer.duration(125, precise: false), "2m05s")
        XCTAssertEqual(NoteRenderer.duration(3720, precise: false), "1h02m")
    }

    func testRecordsRoundTripAndTheNewestLineOfAnExecutionWins() {
        var first = record(number: 4, status: "InProgress", stages: [])
        first.revision = 3
        var last = first
        last.revision = 9
        last.status = "Succeeded"
        let parsed = NoteRecord.parse([last.jsonLine(), first.jsonLine(), "{not json", ""].joined(separator: "\n"))
        XCTAssertEqual(parsed, [last])
    }
}
