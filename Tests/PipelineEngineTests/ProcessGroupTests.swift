import Foundation
@testable import PipelineEngine
import XCTest

/// Real processes: an action's whole process group dies with it (timeout), and children never
/// inherit our descriptors.
final class ProcessGroupTests: XCTestCase {
    func testTimeoutKillsTheWholeProcessGroup() async throws {
        let folder = NSTemporaryDirectory() + "group-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let pidFile = folder + "/background.pid"
        // A background child that ignores TERM: only the group KILL after the grace period ends it.
        let script = "trap '' TERM; (trap '' TERM; sleep 60) & echo $! > '\(pidFile)'; sleep 60"
        let pid = try ProcessLauncher.spawn(.init(executable: "/bin/bash", arguments: ["-c", script],
                                                  environment: ProcessLauncher.cleanEnvironment(), logPath: folder + "/log"))
        let started = Date()
        let (exit, timedOut) = await ProcessLauncher.wait(pid: pid, timeout: 0.5, grace: 0.5)
        XCTAssertTrue(timedOut)
        XCTAssertEqual(exit, .signaled(SIGKILL))
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        let background = pid_t(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
        usleep(200_000)
        XCTAssertFalse(ProcessSupervisor.groupAlive(pid), "the action's process group survived")
        XCTAssertFalse(ProcessSupervisor.isRunning(background), "the background child survived")
    }

    func testFinishedCommandReportsItsExitStatus() async throws {
        let pid = try ProcessLauncher.spawn(.init(executable: "/bin/sh", arguments: ["-c", "exit 7"],
                                                  environment: ProcessLauncher.cleanEnvironment(), logPath: nil))
        let (exit, timedOut) = await ProcessLauncher.wait(pid: pid, timeout: 30, grace: 1)
        XCTAssertFalse(timedOut)
        XCTAssertEqual(exit, .exited(7))
    }

    func testCommandsScriptKeepsShellStateAndStopsAtTheFirstFailure() throws {
        let script = CommandsProvider.script(workspace: "/tmp", commands: ["cd /", "export X=1", "false", "echo never"],
                                             meta: "/tmp/meta", outputVariables: ["X"])
        XCTAssertTrue(script.contains("cd -- '/tmp' || exit 97"))
        XCTAssertTrue(script.contains("  'export X=1'"))
        XCTAssertEqual(shellQuote("it's"), "'it'\\''s'")
    }
}
