import Foundation
@testable import PipelineEngine
import XCTest

/// The runner as a service: the shipped systemd unit, and a foreground runner that recovers at its
/// own start what a killed runner left, without waiting for a push.
final class ServiceTests: XCTestCase {
    static var packageRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { url.deleteLastPathComponent() }
        return url.path
    }

    func testTheShippedUnitVerifies() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else {
            print("ServiceTests: skipped: no systemd-analyze (apt-get install systemd)")
            return
        }
        let unit = try String(contentsOfFile: Self.packageRoot + "/contrib/systemd/git-pipeline-runner@.service", encoding: .utf8)
        XCTAssertTrue(unit.contains("ExecStart=/usr/local/bin/git-pipeline runner --foreground --git-dir %f"), unit)
        let folder = NSTemporaryDirectory() + "unit-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // An instance for /srv/git/app.git, running the binary under test.
        let path = folder + "/git-pipeline-runner@srv-git-app.git.service"
        try unit.replacingOccurrences(of: "/usr/local/bin/git-pipeline", with: Sandbox.binary).write(toFile: path, atomically: true, encoding: .utf8)
        let box = try Sandbox(install: false)
        let verified = try box.run("/usr/bin/systemd-analyze", ["verify", path], allowFailure: true)
        XCTAssertEqual(verified.status, 0, verified.output)
        XCTAssertEqual(verified.output.trimmingCharacters(in: .whitespacesAndNewlines), "", "systemd-analyze has remarks:\n\(verified.output)")
    }

    func testAServiceRunnerRecoversWhatAKilledRunnerLeftWhenItStarts() throws {
        let box = try Sandbox()
        try box.git(["config", "pipeline.runnerIdleSeconds", "60"], in: box.server)
        // A sandboxed action dies with its runner (NoSurvivorsTests); an unconfined one outlives
        // it, and recovery must stop it.
        try box.git(["config", "pipeline.sandbox", "false"], in: box.server)
        let pidFile = box.exchange + "/child.pid"
        let first = try box.commit("one", files: [".pipeline.yml": Fixture.pipeline(stages: Fixture.quickStage("sleep 120 & echo $! > '\(pidFile)'; wait"))])
        try box.push()
        let child = pid_t(try box.waitForFile(pidFile).trimmingCharacters(in: .whitespacesAndNewlines))!
        try box.run("pkill", ["-KILL", "-f", "runner --git-dir \(box.server)"])
        XCTAssertTrue(ProcessSupervisor.isRunning(child), "the action outlives its killed runner")
        // The service starts; nobody pushes.
        let runner = try box.startRunner(foreground: true)
        defer { runner.terminate(); runner.waitUntilExit() }
        let summaries = try box.waitForExecutions(1, timeout: 30)
        XCTAssertEqual(summaries.first?["status"] as? String, "Failed")
        XCTAssertTrue((summaries.first?["statusSummary"] as? String ?? "").contains("runner lost"), "\(summaries)")
        XCTAssertFalse(ProcessSupervisor.isRunning(child), "recovery stops what the lost runner left running")
        XCTAssertTrue(try box.waitForNote(first).hasPrefix("server #1 Failed"))
        // And it serves the next push.
        let second = try box.commit("two", files: [".pipeline.yml": Sandbox.quickPipeline()])
        XCTAssertTrue(try box.push().stderr.contains("server #2 queued"), "the service runner answers the hook")
        XCTAssertTrue(try box.waitForNote(second).hasPrefix("server #2 Succeeded"))
    }
}
