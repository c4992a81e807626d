import Foundation
import GRDB
import PipelineModel

/// `git pipeline approve|reject EXEC --stage S --action A [--summary TEXT]` (PutApprovalResult).
public enum ApprovalDecision {
    public static func decide(layout: StateLayout, execution name: String, stage: String, action: String, approve: Bool,
                              summary: String?, by actor: Actor, approvers configured: [String] = [],
                              now: Double = Date().timeIntervalSince1970) throws -> String {
        let store = try Store(path: layout.database)
        let execution = try store.findExecution(name)
        let eventName = "PutApprovalResult"
        let parameters = ["pipelineName": execution.pipeline, "pipelineExecutionId": execution.id, "stageName": stage, "actionName": action,
                          "result": approve ? "Approved" : "Rejected"]
        // The action's own approvers, else the repository's (pipeline.approvers); none: anyone.
        let declared = execution.declaration?.stages.first { $0.name == stage }?.actions.first { $0.name == action }?.approvers
        let approvers = declared ?? configured
        if !approvers.isEmpty && !Identity.isListed(actor, in: approvers) {
            let message = "\(actor) may not decide \(stage)/\(action) of \(execution.label): its approvers are \(approvers.joined(separator: ", "))" +
                (declared == nil ? " (pipeline.approvers)" : " (approvers: in the definition)")
            try store.write { db in try Audit.record(db, eventName, actor: actor, executionId: execution.id, parameters: parameters, error: message, time: now) }
            throw OperationError(message: message)
        }
        let changed = try store.write { db -> Int in
            try db.execute(sql: """
                UPDATE approvals SET status = ?, summary = ?, decidedBy = ?, decidedAt = ?
                WHERE executionId = ? AND stageName = ? AND actionName = ? AND status = 'Pending'
                  AND (SELECT status FROM executions WHERE id = executionId) = 'InProgress'
                """, arguments: [approve ? "Approved" : "Rejected", summary, actor.description, now, execution.id, stage, action])
            let changed = db.changesCount
            try Audit.record(db, eventName, actor: actor, executionId: execution.id, parameters: parameters,
                             error: changed > 0 ? nil : "no approval waiting", time: now)
            return changed
        }
        guard changed > 0 else {
            throw OperationError(message: "\(execution.label) has no approval waiting at \(stage)/\(action) (status: \(execution.status))")
        }
        return "\(execution.label) \(stage)/\(action): \(approve ? "approved" : "rejected")"
    }
}
