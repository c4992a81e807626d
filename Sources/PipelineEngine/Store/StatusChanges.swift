import GRDB

/// Where statuses change in the store: every write of an execution's, a stage's or an action's
/// status goes through here, asks `StatusMachine` whether the move is allowed, stamps the times and
/// records the EventBridge event. A refused move changes nothing and returns nil.
enum StatusChanges {
    /// Moves the execution to `requested` (or what the machine makes of it); `update` sets other
    /// fields in the same write. A terminal status also ends the runner's claim.
    @discardableResult
    static func execution(_ db: Database, _ id: String, to requested: ExecutionStatus, cause: StatusCause = .outcome, time: Double,
                          update: (inout ExecutionRecord) -> Void = { _ in }) throws -> ExecutionRecord? {
        guard var execution = try ExecutionRecord.fetchOne(db, key: id),
              let next = StatusMachine.next(execution.status, requested, cause: cause) else { return nil }
        execution.status = next
        if next.isTerminal {
            execution.endedAt = time
            execution.claimedBy = nil
            execution.waitingStage = nil
        } else if cause == .retry {
            execution.endedAt = nil
            execution.attempt += 1
        }
        update(&execution)
        try execution.update(db)
        try Events.record(db, Events.pipelineChange, execution: execution, status: eventStatus(next, cause), time: time)
        return execution
    }

    /// Enters a stage (a new row, or the failed one again on a retry) or ends it.
    @discardableResult
    static func stage(_ db: Database, execution: ExecutionRecord, name: String, index: Int, to requested: StageStatus,
                      cause: StatusCause = .outcome, time: Double) throws -> StageRecord? {
        let existing = try StageRecord.fetchOne(db, key: ["executionId": execution.id, "name": name])
        guard let next = StatusMachine.next(existing?.status, requested, cause: cause) else { return nil }
        var stage = existing ?? StageRecord(executionId: execution.id, stageIndex: index, name: name, status: next, startedAt: time, endedAt: nil)
        stage.status = next
        stage.endedAt = next.isTerminal ? time : nil
        if existing == nil { try stage.insert(db) } else { try stage.update(db) }
        try Events.record(db, Events.stageChange, execution: execution, status: eventStatus(next, cause), stage: name, time: time)
        return stage
    }

    /// What the event says of a move: a retry resumes (CodePipeline's RESUMED, not STARTED).
    private static func eventStatus(_ next: some PipelineStatus, _ cause: StatusCause) -> String {
        cause == .retry && !next.isTerminal ? "Resumed" : next.rawValue
    }

    /// Ends every stage of the execution that is still running (recovery, a stop).
    static func endRunningStages(_ db: Database, execution: ExecutionRecord, as status: StageStatus, time: Double) throws {
        let running = try StageRecord.filter(Column("executionId") == execution.id && Column("status") == StageStatus.inProgress.rawValue).fetchAll(db)
        for stage in running {
            try self.stage(db, execution: execution, name: stage.name, index: stage.stageIndex, to: status, time: time)
        }
    }

    /// Ends a running action; `update` sets its outcome fields in the same write.
    @discardableResult
    static func action(_ db: Database, _ action: ActionRecord, execution: ExecutionRecord, to requested: ActionStatus, time: Double,
                       inputArtifacts: [Events.ArtifactReference] = [], outputArtifacts: [Events.ArtifactReference] = [],
                       update: (inout ActionRecord) -> Void = { _ in }) throws -> ActionRecord? {
        guard let id = action.id,
              var current = try ActionRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM actions WHERE id = ?"), arguments: [id]),
              let next = StatusMachine.next(current.status, requested) else { return nil }
        current.status = next
        current.endedAt = time
        update(&current)
        try current.update(db)
        try Events.record(db, Events.actionChange, execution: execution, status: next.rawValue, stage: current.stageName, action: current,
                          inputArtifacts: inputArtifacts, outputArtifacts: outputArtifacts, time: time)
        return current
    }
}
