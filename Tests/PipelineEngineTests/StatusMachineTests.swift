@testable import PipelineEngine
import XCTest

/// The one status machine: terminal statuses are sticky, a failed execution never turns green,
/// only a retry leaves Failed, a Stopping execution ends Stopped.
final class StatusMachineTests: XCTestCase {
    func testExecutionTerminalStatusesAreSticky() {
        for terminal in ExecutionStatus.allCases where terminal.isTerminal {
            for requested in ExecutionStatus.allCases {
                XCTAssertNil(StatusMachine.next(terminal, requested), "\(terminal) → \(requested) must be refused")
            }
        }
        XCTAssertEqual(Set(ExecutionStatus.allCases.filter { !$0.isTerminal }), [.inProgress, .stopping])
    }

    func testAFailedExecutionNeverTurnsGreenButARetryRunsItAgain() {
        XCTAssertNil(StatusMachine.next(.failed, .succeeded))
        XCTAssertNil(StatusMachine.next(.failed, .inProgress))
        XCTAssertEqual(StatusMachine.next(.failed, .inProgress, cause: .retry), .inProgress)
        // As in CodePipeline, a Stopped execution can be retried too (issue 13).
        XCTAssertEqual(StatusMachine.next(.stopped, .inProgress, cause: .retry), .inProgress)
        // A retry leaves Failed and Stopped only: not a success or a supersede.
        for status in ExecutionStatus.allCases where status != .failed && status != .stopped {
            XCTAssertNil(StatusMachine.next(status, .inProgress, cause: .retry), "retry from \(status)")
        }
        XCTAssertNil(StatusMachine.next(.failed, .succeeded, cause: .retry))
    }

    func testInProgressMovesAnywhereAndStoppingEndsStopped() {
        for requested in ExecutionStatus.allCases {
            XCTAssertEqual(StatusMachine.next(.inProgress, requested), requested)
        }
        XCTAssertEqual(StatusMachine.next(.stopping, .stopped), .stopped)
        XCTAssertEqual(StatusMachine.next(.stopping, .failed), .failed)
        // Stop-and-wait: whatever the last stage did, the execution was stopped.
        XCTAssertEqual(StatusMachine.next(.stopping, .succeeded), .stopped)
        XCTAssertEqual(StatusMachine.next(.stopping, .superseded), .stopped)
        XCTAssertNil(StatusMachine.next(.stopping, .inProgress))
    }

    func testStagesAreEnteredOnceAndAgainOnlyByARetry() {
        XCTAssertEqual(StatusMachine.next(nil as StageStatus?, .inProgress), .inProgress)
        XCTAssertNil(StatusMachine.next(nil as StageStatus?, .succeeded), "a stage that never started cannot end")
        XCTAssertEqual(StatusMachine.next(StageStatus.inProgress, .failed), .failed)
        XCTAssertNil(StatusMachine.next(StageStatus.failed, .succeeded))
        XCTAssertNil(StatusMachine.next(StageStatus.failed, .inProgress))
        XCTAssertEqual(StatusMachine.next(StageStatus.failed, .inProgress, cause: .retry), .inProgress)
        XCTAssertNil(StatusMachine.next(StageStatus.succeeded, .inProgress, cause: .retry), "a stage that succeeded is not retried")
    }

    func testAnActionEndsOnce() {
        XCTAssertEqual(StatusMachine.next(ActionStatus.inProgress, .failed), .failed)
        XCTAssertEqual(StatusMachine.next(ActionStatus.inProgress, .abandoned), .abandoned)
        XCTAssertNil(StatusMachine.next(ActionStatus.failed, .succeeded), "once an action has failed it never turns green")
        XCTAssertNil(StatusMachine.next(ActionStatus.succeeded, .failed))
        XCTAssertNil(StatusMachine.next(ActionStatus.inProgress, .inProgress))
    }

    func testStatusesPrintAsCodePipelineWords() {
        XCTAssertEqual("\(ExecutionStatus.inProgress)", "InProgress")
        XCTAssertEqual(StageStatus.skipped.rawValue, "Skipped")
        XCTAssertEqual(ActionStatus(rawValue: "Abandoned"), .abandoned)
    }
}

/// core.sharedRepository as git reads it, and the modes that follow.
final class SharedRepositoryTests: XCTestCase {
    func testValuesAndModes() {
        XCTAssertNil(SharedRepository.parse(nil))
        XCTAssertNil(SharedRepository.parse("false"))
        XCTAssertNil(SharedRepository.parse("umask"))
        let group = SharedRepository.parse("group")
        XCTAssertEqual(group?.fileMode, 0o660)
        XCTAssertEqual(group?.umask, 0o007)
        XCTAssertEqual(group?.stateDirectoryMode, 0o2770)
        XCTAssertEqual(SharedRepository.parse("true"), group)
        let all = SharedRepository.parse("all")
        XCTAssertEqual(all?.umask, 0o002)
        XCTAssertEqual(all?.stateDirectoryMode, 0o2770, "the state folder is never world-readable")
        XCTAssertEqual(all?.stateFileMode, 0o660)
        let octal = SharedRepository.parse("0640")
        XCTAssertEqual(octal?.umask, 0o027)
        XCTAssertEqual(octal?.stateDirectoryMode, 0o2750)
        XCTAssertNil(SharedRepository.parse("0440"), "git refuses a mode without owner read-write")
    }
}
