import Foundation
import GRDB

/// `git pipeline retry EXEC [--stage S] [--all-actions]` (CodePipeline's RetryStageExecution): the
/// same execution runs its failed (or stopped) stage again — the actions that did not succeed, or
/// all — and goes on from there. As in CodePipeline, a Stopped execution can be retried too.
public enum RetryExecution {
    public static func retry(layout: StateLayout, execution name: String, stage requested: String?, allActions: Bool,
                             by actor: Actor, now: Double = Date().timeIntervalSince1970) throws -> String {
        let store = try Store(path: layout.database)
        let execution = try store.findExecution(name)
        switch execution.status {
        case .failed, .stopped: break
        case .superseded:
            throw OperationError(message: "\(execution.label) was superseded; a superseded execution cannot be retried (start a new one)")
        case .inProgress, .stopping:
            throw OperationError(message: "\(execution.label) is still running (a retry may already be under way)")
        default:
            throw OperationError(message: "\(execution.label) \(execution.status): only a failed or stopped stage can be retried")
        }
        let stages = try store.stages(of: execution.id)
        let retriable: Set<StageStatus> = [.failed, .stopped]
        guard let failed = requested.map({ name in stages.first { $0.name == name } }) ?? stages.first(where: { retriable.contains($0.status) }) else {
            throw OperationError(message: requested.map { "\(execution.label) has no stage \($0) that ran" }
                ?? "\(execution.label) has no failed or stopped stage (\(execution.statusSummary ?? "it ended before any stage ran"))")
        }
        guard retriable.contains(failed.status) else {
            throw OperationError(message: "stage \(failed.name) of \(execution.label) is \(failed.status.rawValue), not Failed or Stopped")
        }
        try store.write { db in
            // CodePipeline's rule: a newer execution that entered the stage supersedes the failed one.
            if let newer = try Int.fetchOne(db, sql: """
                SELECT e.number FROM stages s JOIN executions e ON e.id = s.executionId
                WHERE e.pipeline = ? AND s.name = ? AND e.number > ? ORDER BY e.number DESC LIMIT 1
                """, arguments: [execution.pipeline, failed.name, execution.number]) {
                throw OperationError(message: "\(execution.pipeline) #\(newer) has entered \(failed.name) since; it superseded \(execution.label), which can no longer be retried")
            }
            if let latest = try ExecutionRecord.filter(Column("pipeline") == execution.pipeline && Column("number") > execution.number)
                .order(Column("number").desc).fetchOne(db), latest.definitionJSON != nil, latest.definitionJSON != execution.definitionJSON {
                throw OperationError(message: "the definition of \(execution.pipeline) changed since \(execution.label) (\(latest.label) uses another); start a new execution")
            }
            let retried = try StatusChanges.execution(db, execution.id, to: .inProgress, cause: .retry, time: now) { current in
                current.statusSummary = nil
                current.claimedBy = nil
                current.stopMode = nil
                current.stopReason = nil
                current.retryStage = failed.name
                current.retryMode = allActions ? "ALL_ACTIONS" : "FAILED_ACTIONS"
            }
            guard retried != nil else { throw OperationError(message: "\(execution.label) is no longer \(execution.status.rawValue); it cannot be retried") }
            try Audit.record(db, "RetryStageExecution", actor: actor, executionId: execution.id,
                             parameters: ["pipelineName": execution.pipeline, "pipelineExecutionId": execution.id, "stageName": failed.name,
                                          "retryMode": allActions ? "ALL_ACTIONS" : "FAILED_ACTIONS"], time: now)
        }
        return "\(execution.label) retries stage \(failed.name) (\(allActions ? "all actions" : "failed actions"))"
    }
}
