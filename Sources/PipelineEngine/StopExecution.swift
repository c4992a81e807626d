import Foundation
import GRDB

/// `git pipeline stop EXEC [--abandon] [--reason]` (CodePipeline's StopPipelineExecution):
/// stop-and-wait lets running actions finish and starts nothing new (Stopping → Stopped);
/// abandon also marks running actions Abandoned and stops their process groups (TERM, then KILL).
public enum StopExecution {
    /// Asks for the stop and returns what happened, for the user.
    public static func stop(layout: StateLayout, execution name: String, abandon: Bool, reason: String?, by user: String,
                            grace: Double, now: Double = Date().timeIntervalSince1970) throws -> String {
        let store = try Store(path: layout.database)
        let execution = try store.findExecution(name)
        guard !execution.isTerminal else { throw OperationError(message: "\(execution.label) already ended: \(execution.status)") }
        let summary = "stopped by \(user)" + (reason.map { ": \($0)" } ?? "")
        let notStarted = try store.write { db -> Bool in
            var current = try ExecutionRecord.fetchOne(db, key: execution.id)!
            current.statusSummary = summary
            current.stopMode = abandon ? "abandon" : "wait"
            // Not yet picked up by a runner: nothing runs, so it stops at once.
            let notStarted = current.claimedBy == nil
            current.status = notStarted ? ExecutionStatus.stopped : ExecutionStatus.stopping
            if notStarted { current.endedAt = now }
            try current.update(db)
            try Events.record(db, Events.pipelineChange, execution: current, status: current.status, time: now)
            return notStarted
        }
        if notStarted {
            try? NotesWriter(layout: layout, settings: try PipelineSettings(repository: .init(path: layout.gitDirectory)), store: store)
                .update(executionId: execution.id)
            return "\(execution.label) Stopped (it had not started)"
        }
        guard abandon else { return "\(execution.label) Stopping: running actions finish, nothing new starts" }
        let running = try store.read { db in
            try ActionRecord.filter(Column("executionId") == execution.id && Column("status") == ExecutionStatus.inProgress).fetchAll(db)
        }
        for action in running {
            if let group = action.processGroup { ProcessLauncher.terminateGroup(pid_t(group), grace: grace) }
        }
        return "\(execution.label) Stopping: abandoned \(running.count) running action\(running.count == 1 ? "" : "s")"
    }
}
