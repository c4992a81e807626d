import Foundation
@testable import PipelineEngine
import XCTest

/// Wake-ups instead of polling: the doorbell in a process, the store's change signal across processes.
final class DoorbellTests: XCTestCase {
    func testARingBetweenALookAndTheWaitIsNotMissed() async {
        let bell = Doorbell()
        let seen = bell.generation
        bell.ring()
        let started = Date()
        await bell.wait(after: seen, timeout: 30)
        XCTAssertLessThan(Date().timeIntervalSince(started), 1)
    }

    func testAWaiterWakesOnARingAndOnItsDeadline() async {
        let bell = Doorbell()
        let seen = bell.generation
        let waiter = Task { await bell.wait(after: seen, timeout: 30) }
        try? await Task.sleep(nanoseconds: 50_000_000)
        bell.ring()
        let started = Date()
        await waiter.value
        XCTAssertLessThan(Date().timeIntervalSince(started), 1)

        let deadline = Date()
        await bell.wait(after: bell.generation, timeout: 0.1)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(deadline), 0.09, "no ring: it sleeps until its deadline")
        await bell.wait(after: bell.generation, timeout: 0)
    }

    func testTheChangeSignalWakesAWatcher() throws {
        let folder = NSTemporaryDirectory() + "signal-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let signal = ChangeSignal(databasePath: folder + "/state.sqlite")
        let watcher = try XCTUnwrap(ChangeSignal.Watcher(signal))
        XCTAssertFalse(watcher.wait(timeout: 0.05), "nothing changed")
        signal.post()
        XCTAssertTrue(watcher.wait(timeout: 5))
        XCTAssertFalse(watcher.wait(timeout: 0.05), "one wake-up stands for every change before it")
    }
}
