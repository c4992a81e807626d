import Foundation
@testable import PipelineEngine
import XCTest

/// The runner killed with SIGKILL at random moments of running pipelines.
final class RecoveryTests: XCTestCase {
    /// Pids of live (non-zombie) processes whose environment names this repository.
    func leftovers(_ server: String) -> [pid_t] {
        let needle = Array("PIPELINE_REPOSITORY=\(server)".utf8)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), let environment = FileManager.default.contents(atPath: "/proc/\(entry)/environ"),
                  environment.split(separator: 0).contains(where: { Array($0) == needle }), ProcessSupervisor.isRunning(pid) else { return nil }
            return pid
        }
    }

    func testRunnerKilledAtRandomMomentsLeavesConsistentState() throws {
        let box = try Sandbox()
        let definition = Fixture.pipeline("executionMode: QUEUED",
                                          stages: Fixture.stage("Build", Fixture.commands("Compile", ["sleep 0.4 & sleep 0.3; wait", "echo built"])),
                                          Fixture.stage("Test", Fixture.commands("Check", ["sleep 0.3"], category: "Test")))
        var generator = SystemRandomNumberGenerator()
        var commits: [String] = []
        for round in 0..<20 {
            commits.append(try box.commit("round \(round)", files: [".pipeline.yml": definition, "n.txt": "\(round)\n"]))
            try box.push()
            usleep(UInt32.random(in: 50_000...900_000, using: &generator))
            try box.run("pkill", ["-KILL", "-f", "runner --git-dir \(box.server)"], allowFailure: true)
        }
        // The next runner recovers and finishes what can go on.
        try box.pipeline(["runner"])
        let summaries = try box.waitForExecutions(20, timeout: 120)
        XCTAssertEqual(summaries.count, 20)
        XCTAssertTrue(summaries.allSatisfy { ["Succeeded", "Failed"].contains($0["status"] as? String ?? "") }, "\(summaries.map { $0["status"]! })")
        XCTAssertEqual(leftovers(box.server), [], "a process of a lost action survived")
        let check = try box.run("sqlite3", [box.server + "/pipeline/state.sqlite", "PRAGMA integrity_check"], allowFailure: true)
        if check.status == 0 { XCTAssertEqual(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "ok") }
        // Each commit's note says what the store says.
        for summary in summaries {
            let number = summary["pipelineExecutionNumber"] as! Int
            let commit = ((summary["sourceRevisions"] as! [[String: Any]])[0]["revisionId"] as! String)
            let note = try box.note(commit)
            if !note.hasPrefix("server #\(number) \(summary["status"] as! String)") {
                let log = (try? String(contentsOfFile: box.server + "/pipeline/runner.log", encoding: .utf8)) ?? ""
                let locks = (try? FileManager.default.contentsOfDirectory(atPath: box.server + "/refs/notes")) ?? []
                XCTFail("#\(number): \(note)\nlocks: \(locks)\nrunner.log:\n\(log.suffix(3000))")
            }
        }
        let lost = summaries.filter { ($0["statusSummary"] as? String)?.contains("runner lost") == true }.count
        print("recovery: \(lost) of 20 executions lost a running action; the rest carried on")
    }
}
