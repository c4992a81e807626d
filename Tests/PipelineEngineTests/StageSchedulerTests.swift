@testable import PipelineEngine
import PipelineModel
import XCTest

/// CodePipeline's execution modes at a stage's entrance, on the scheduler alone (no store, no processes).
final class StageSchedulerTests: XCTestCase {
    /// Starts an `enter` and returns a task with its answer.
    func entering(_ scheduler: StageScheduler, _ number: Int, mode: ExecutionMode, stage: String = "Build") -> Task<Bool, Never> {
        Task { await scheduler.enter(pipeline: "app", stage: stage, executionId: "e\(number)", number: number, mode: mode) }
    }

    /// Lets the tasks started so far reach their `await` in the actor.
    func settle() async { for _ in 0..<50 { await Task.yield() } }

    func testSupersededKeepsOneWaiterAndTheNewestWins() async {
        let scheduler = StageScheduler()
        let first = await scheduler.enter(pipeline: "app", stage: "Build", executionId: "e1", number: 1, mode: .superseded)
        XCTAssertTrue(first, "a free stage is entered at once")
        let second = entering(scheduler, 2, mode: .superseded)
        await settle()
        let third = entering(scheduler, 3, mode: .superseded)
        await settle()
        let superseded = await second.value
        XCTAssertFalse(superseded, "the older waiter gives way to the newer one")
        // The running execution is never interrupted: #3 enters only when #1 leaves.
        await scheduler.leave(pipeline: "app", stage: "Build", executionId: "e1")
        let entered = await third.value
        XCTAssertTrue(entered)
    }

    func testSupersededRefusesAnOlderArrivalBehindANewerWaiter() async {
        let scheduler = StageScheduler()
        _ = await scheduler.enter(pipeline: "app", stage: "Build", executionId: "e1", number: 1, mode: .superseded)
        let newer = entering(scheduler, 5, mode: .superseded)
        await settle()
        let older = await scheduler.enter(pipeline: "app", stage: "Build", executionId: "e4", number: 4, mode: .superseded)
        XCTAssertFalse(older, "an older execution arriving behind a newer waiter is superseded at once")
        await scheduler.leave(pipeline: "app", stage: "Build", executionId: "e1")
        let entered = await newer.value
        XCTAssertTrue(entered)
    }

    func testQueuedAdmitsWaitersInOrder() async {
        let scheduler = StageScheduler()
        _ = await scheduler.enter(pipeline: "app", stage: "Build", executionId: "e1", number: 1, mode: .queued)
        let third = entering(scheduler, 3, mode: .queued)
        await settle()
        let second = entering(scheduler, 2, mode: .queued)
        await settle()
        await scheduler.leave(pipeline: "app", stage: "Build", executionId: "e1")
        let secondEntered = await second.value
        XCTAssertTrue(secondEntered, "the lower number enters first, whatever order they came in")
        await settle()
        let order = Order()
        let watch = Task { let entered = await third.value; await order.note(entered ? "3 entered" : "3 refused") }
        await settle()
        let before = await order.events
        XCTAssertEqual(before, [], "#3 waits while #2 holds the stage")
        await scheduler.leave(pipeline: "app", stage: "Build", executionId: "e2")
        await watch.value
        let after = await order.events
        XCTAssertEqual(after, ["3 entered"])
    }

    func testParallelHasNoLocks() async {
        let scheduler = StageScheduler()
        for number in 1...5 {
            let entered = await scheduler.enter(pipeline: "app", stage: "Build", executionId: "e\(number)", number: number, mode: .parallel)
            XCTAssertTrue(entered)
        }
    }

    func testStagesAndPipelinesHaveTheirOwnLocks() async {
        let scheduler = StageScheduler()
        _ = await scheduler.enter(pipeline: "app", stage: "Build", executionId: "e1", number: 1, mode: .queued)
        let otherStage = await scheduler.enter(pipeline: "app", stage: "Deploy", executionId: "e2", number: 2, mode: .queued)
        let otherPipeline = await scheduler.enter(pipeline: "web", stage: "Build", executionId: "w1", number: 1, mode: .queued)
        XCTAssertTrue(otherStage)
        XCTAssertTrue(otherPipeline)
    }

    func testADisabledTransitionHoldsEveryoneUntilEnabled() async {
        let scheduler = StageScheduler()
        await scheduler.setDisabled([["app", "Build"]])
        let waiting = entering(scheduler, 1, mode: .queued)
        await settle()
        let order = Order()
        let watch = Task { let entered = await waiting.value; await order.note(entered ? "entered" : "refused") }
        await settle()
        let held = await order.events
        XCTAssertEqual(held, [], "nobody enters a stage whose transition is disabled, not even into a free stage")
        await scheduler.setDisabled([])
        await watch.value
        let events = await order.events
        XCTAssertEqual(events, ["entered"])
    }

    func testCancelLetsAWaiterGoWithoutEntering() async {
        let scheduler = StageScheduler()
        _ = await scheduler.enter(pipeline: "app", stage: "Build", executionId: "e1", number: 1, mode: .queued)
        let waiting = entering(scheduler, 2, mode: .queued)
        await settle()
        await scheduler.cancel(executionId: "e2")
        let entered = await waiting.value
        XCTAssertFalse(entered)
        // The stage is still #1's; after it leaves, a new arrival enters at once (the cancelled one is gone).
        await scheduler.leave(pipeline: "app", stage: "Build", executionId: "e1")
        let next = await scheduler.enter(pipeline: "app", stage: "Build", executionId: "e3", number: 3, mode: .queued)
        XCTAssertTrue(next)
    }

    func testLeavingAStageOneDoesNotHoldChangesNothing() async {
        let scheduler = StageScheduler()
        _ = await scheduler.enter(pipeline: "app", stage: "Build", executionId: "e1", number: 1, mode: .queued)
        await scheduler.leave(pipeline: "app", stage: "Build", executionId: "e9")
        let waiting = entering(scheduler, 2, mode: .queued)
        await settle()
        let order = Order()
        let watch = Task { _ = await waiting.value; await order.note("entered") }
        await settle()
        let events = await order.events
        XCTAssertEqual(events, [], "#1 still holds the stage")
        await scheduler.leave(pipeline: "app", stage: "Build", executionId: "e1")
        await watch.value
    }
}

/// What happened, in order, across tasks.
actor Order {
    var events: [String] = []
    func note(_ event: String) { events.append(event) }
}
