import Foundation
import GRDB

/// `git pipeline stop EXEC [--abandon] [--reason]` (CodePipeline's StopPipelineExecution):
/// stop-and-wait lets running actions finish and starts nothing new (Stopping → Stopped);
/// abandon also has the runner stop the running actions' process groups (TERM, then KILL) and
/// mark them Abandoned. This only asks, through the store, and returns: the runner does the rest.
public enum StopExecution {
    /// Asks for the stop and returns what happened, for the user.
    public static func stop(layout: StateLayout, execution name: String, abandon: Bool, reason: String?, by actor: Actor,
                            now: Double = Date().timeIntervalSince1970) throws -> String {
        let store = try Store(path: layout.database)
        let execution = try store.findExecution(name)
        guard !execution.isTerminal else { throw OperationError(message: "\(execution.label) already ended: \(execution.status.rawValue)") }
        let summary = "stopped by \(actor)" + (reason.map { ": \($0)" } ?? "")
        let (notStarted, running) = try store.write { db -> (Bool, Int) in
            // Not yet picked up by a runner: nothing runs, so it stops at once.
            let current = try ExecutionRecord.fetchOne(db, key: execution.id)
            let notStarted = current?.claimedBy == nil
            let changed = try StatusChanges.execution(db, execution.id, to: notStarted ? .stopped : .stopping, time: now) {
                $0.statusSummary = summary
                $0.stopMode = abandon ? "abandon" : "wait"
                $0.stopReason = reason
            }
            guard changed != nil else { throw OperationError(message: "\(execution.label) already ended: \(current?.status.rawValue ?? "gone")") }
            var parameters = ["pipelineName": execution.pipeline, "pipelineExecutionId": execution.id, "abandon": abandon ? "true" : "false"]
            if let reason { parameters["reason"] = reason }
            try Audit.record(db, "StopPipelineExecution", actor: actor, executionId: execution.id, parameters: parameters, time: now)
            let running = try ActionRecord.filter(Column("executionId") == execution.id && Column("status") == ActionStatus.inProgress).fetchCount(db)
            return (notStarted, running)
        }
        if notStarted {
            try? NotesWriter(layout: layout, settings: try PipelineSettings(repository: .init(path: layout.gitDirectory)), store: store)
                .update(executionId: execution.id)
            return "\(execution.label) Stopped (it had not started)"
        }
        // The execution's runner is gone: a new one recovers it (it ends Stopped).
        if !Runner.isRunning(layout) { try Runner.startInBackground(layout) }
        guard abandon else { return "\(execution.label) Stopping: running actions finish, nothing new starts" }
        return "\(execution.label) Stopping: abandoned \(running) running action\(running == 1 ? "" : "s")"
    }
}
