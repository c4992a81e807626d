import PipelineModel

/// Who may enter which stage, by CodePipeline's execution modes:
/// - SUPERSEDED: a stage holds one execution at a time; one waits at its entrance, and a newer one
///   arriving there supersedes it. A running execution is never interrupted.
/// - QUEUED: the same locks; waiters enter in the order they were started, none superseded.
/// - PARALLEL: no locks.
/// One runner per repository owns all executions, so the locks live here, in memory; the store
/// shows who waits where (`executions.waitingStage`).
actor StageScheduler {
    private struct Key: Hashable {
        let pipeline: String
        let stage: String
    }

    private struct Waiter {
        let executionId: String
        let number: Int
        let entered: CheckedContinuation<Bool, Never>
    }

    private var holders: [Key: String] = [:]
    private var waiters: [Key: [Waiter]] = [:]
    /// Stages whose inbound transition is disabled: nobody enters, waiters wait.
    private var disabled: Set<Key> = []

    /// Waits until `executionId` may enter the stage. False when a newer execution superseded it
    /// while it waited (SUPERSEDED mode only).
    func enter(pipeline: String, stage: String, executionId: String, number: Int, mode: ExecutionMode) async -> Bool {
        if mode == .parallel { return true }
        let key = Key(pipeline: pipeline, stage: stage)
        if holders[key] == nil && (waiters[key] ?? []).isEmpty && !disabled.contains(key) {
            holders[key] = executionId
            return true
        }
        return await withCheckedContinuation { continuation in
            var queue = waiters[key] ?? []
            if mode == .superseded {
                // At most one waits: an older waiter gives way to this newer one.
                for older in queue where older.number < number { older.entered.resume(returning: false) }
                queue.removeAll { $0.number < number }
                if queue.contains(where: { $0.number > number }) {
                    continuation.resume(returning: false)  // a newer one already waits
                    waiters[key] = queue
                    return
                }
            }
            queue.append(Waiter(executionId: executionId, number: number, entered: continuation))
            queue.sort { $0.number < $1.number }
            waiters[key] = queue
        }
    }

    /// Lets an execution that waits at some stage's entrance go without entering (it was stopped).
    func cancel(executionId: String) {
        for (key, queue) in waiters {
            guard let waiter = queue.first(where: { $0.executionId == executionId }) else { continue }
            waiters[key] = queue.filter { $0.executionId != executionId }
            waiter.entered.resume(returning: false)
        }
    }

    /// Frees the stage; the next waiter (the oldest, or the only one) enters.
    func leave(pipeline: String, stage: String, executionId: String) {
        let key = Key(pipeline: pipeline, stage: stage)
        guard holders[key] == executionId else { return }
        holders[key] = nil
        admitNext(key)
    }

    /// The stages whose transitions are disabled now (from the store); enabling one admits the
    /// waiter in front of it, the latest one in SUPERSEDED mode since it superseded the others.
    func setDisabled(_ stages: Set<[String]>) {
        let now = Set(stages.compactMap { $0.count == 2 ? Key(pipeline: $0[0], stage: $0[1]) : nil })
        let enabled = disabled.subtracting(now)
        disabled = now
        for key in enabled { admitNext(key) }
    }

    private func admitNext(_ key: Key) {
        guard holders[key] == nil, !disabled.contains(key), var queue = waiters[key], !queue.isEmpty else { return }
        let next = queue.removeFirst()
        waiters[key] = queue
        holders[key] = next.executionId
        next.entered.resume(returning: true)
    }
}
