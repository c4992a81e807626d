import Foundation
import XCTest

/// CodePipeline's execution modes with real pushes: three commits a second apart, Build sleeping 4 s.
final class ExecutionModeTests: XCTestCase {
    struct Span {
        let number: Int
        let start: Double
        let end: Double?
    }

    /// Pushes three commits a second apart to a pipeline in `mode` and returns the executions'
    /// statuses by number and the spans each spent in Build (from the actions' own clock).
    func runThree(_ mode: String) throws -> (statuses: [Int: String], spans: [Span], stateAfterPushes: [String: Any]) {
        let box = try Sandbox()
        try box.git(["config", "pipeline.runnerIdleSeconds", "3"], in: box.server)
        let trace = box.exchange + "/build-trace"
        let definition = """
            executionMode: \(mode)
            stages:
              - name: Build
                actions:
                  - name: Slow
                    category: Build
                    provider: Commands
                    commands:
                      - echo "start $PIPELINE_EXECUTION_NUMBER $(date +%s.%N)" >> '\(trace)'
                      - sleep 6
                      - echo "end $PIPELINE_EXECUTION_NUMBER $(date +%s.%N)" >> '\(trace)'
            """
        var commits: [String] = []
        for i in 1...3 {
            commits.append(try box.commit("change \(i)", files: [".pipeline.yml": definition, "file.txt": "\(i)\n"]))
            XCTAssertTrue(try box.pushAnswered().stderr.contains("server #\(i) queued"))
            if i < 3 { sleep(1) }
        }
        usleep(700_000)
        let state = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["status", "server", "--json"]).stdout.utf8)) as! [String: Any]
        let summaries = try box.waitForExecutions(3, timeout: 90)
        var statuses: [Int: String] = [:]
        for summary in summaries { statuses[summary["pipelineExecutionNumber"] as! Int] = summary["status"] as? String }
        // The notes agree with the store.
        for (index, commit) in commits.enumerated() {
            let note = try box.note(commit)
            XCTAssertTrue(note.hasPrefix("server #\(index + 1) \(statuses[index + 1]!)"), note)
        }
        let lines = (try? String(contentsOfFile: trace, encoding: .utf8))?.split(separator: "\n") ?? []
        var spans: [Span] = []
        for line in lines where line.hasPrefix("start ") {
            let parts = line.split(separator: " ")
            let number = Int(parts[1])!
            let end = lines.first { $0.hasPrefix("end \(number) ") }.map { Double($0.split(separator: " ")[2])! }
            spans.append(Span(number: number, start: Double(parts[2])!, end: end))
        }
        return (statuses, spans.sorted { $0.start < $1.start }, state)
    }

    func testSupersededSkipsTheWaitingExecution() throws {
        let (statuses, spans, state) = try runThree("SUPERSEDED")
        XCTAssertEqual(statuses, [1: "Succeeded", 2: "Superseded", 3: "Succeeded"])
        // While #1 held Build, #3 waited at its entrance (GetPipelineState's inboundExecutions).
        let build = (state["stageStates"] as! [[String: Any]]).first { $0["stageName"] as? String == "Build" }!
        XCTAssertEqual((build["inboundExecutions"] as? [[String: Any]])?.map { $0["pipelineExecutionNumber"] as? Int }, [3], "\(build)")
        XCTAssertEqual((build["latestExecution"] as? [String: Any])?["status"] as? String, "InProgress")
        XCTAssertEqual(spans.map(\.number), [1, 3], "#2 must never enter Build")
        XCTAssertGreaterThanOrEqual(spans[1].start, try XCTUnwrap(spans[0].end), "#3 entered Build while #1 held it")
    }

    func testQueuedRunsAllInOrderOneAtATime() throws {
        let (statuses, spans, _) = try runThree("QUEUED")
        XCTAssertEqual(statuses, [1: "Succeeded", 2: "Succeeded", 3: "Succeeded"])
        XCTAssertEqual(spans.map(\.number), [1, 2, 3])
        for (earlier, later) in zip(spans, spans.dropFirst()) {
            XCTAssertGreaterThanOrEqual(later.start, try XCTUnwrap(earlier.end), "two executions were in Build at once")
        }
    }

    func testParallelRunsSideBySide() throws {
        let (statuses, spans, _) = try runThree("PARALLEL")
        XCTAssertEqual(statuses, [1: "Succeeded", 2: "Succeeded", 3: "Succeeded"])
        XCTAssertEqual(spans.count, 3)
        let firstEnd = try XCTUnwrap(spans.first { $0.number == 1 }?.end)
        XCTAssertTrue(spans.allSatisfy { $0.start < firstEnd }, "all three should be in Build at the same time: \(spans)")
    }
}
