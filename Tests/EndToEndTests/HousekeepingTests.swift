import Foundation
import XCTest

/// Workspaces go when an execution ends (the last failed one of a pipeline stays); beyond
/// pipeline.retainExecutions, logs, workspaces and unused artifacts go too; history stays.
final class HousekeepingTests: XCTestCase {
    func entries(_ path: String) -> Set<String> { Set((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []) }

    func testWorkspacesAndOldFilesAreRemovedAndTheLastFailureIsKept() throws {
        let box = try Sandbox()
        try box.git(["config", "pipeline.retainExecutions", "3"], in: box.server)
        var ids: [String] = []
        for (index, command) in ["echo one", "false", "echo three", "echo four"].enumerated() {
            let commit = try box.commit("round \(index)", files: [".pipeline.yml": Sandbox.quickPipeline(command), "n.txt": "\(index)\n"])
            try box.push()
            _ = try box.waitForNote(commit)
            let history = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["history", "--json"]).stdout.utf8)) as! [String: Any]
            ids.append(((history["pipelineExecutionSummaries"] as! [[String: Any]]).first!["pipelineExecutionId"] as! String))
        }
        let deadline = Date().addingTimeInterval(10)
        // The runner tidies right after each execution ends; give the last one a moment.
        while entries(box.server + "/pipeline/logs").contains(ids[0]) && Date() < deadline { usleep(100_000) }
        XCTAssertEqual(entries(box.server + "/pipeline/work"), [ids[1]], "only the last failed execution keeps its workspace")
        XCTAssertEqual(entries(box.server + "/pipeline/logs"), Set(ids[1...]), "the oldest execution is past retention")
        // Each round's tree differs: the oldest one's source artifact is used by nothing retained.
        XCTAssertEqual(entries(box.server + "/pipeline/artifacts/sha256").count, 3)
        XCTAssertEqual(entries(box.server + "/pipeline/artifacts/trees").count, 3)
        // History stays, and the note of the oldest still says what happened.
        XCTAssertEqual(try box.waitForExecutions(4).count, 4)
        XCTAssertTrue(try box.pipeline(["show", "server#1"]).stdout.contains("server #1 Succeeded"))
        XCTAssertTrue(try box.runner.log().contains("removed the logs and workspaces of 1 older execution and 1 artifact"))
    }
}

extension Sandbox {
    var runner: RunnerLog { RunnerLog(path: server + "/pipeline/runner.log") }

    struct RunnerLog {
        let path: String
        func log() throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
    }
}
