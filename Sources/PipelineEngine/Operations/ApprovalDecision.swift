import Foundation
import GRDB

/// `git pipeline approve|reject EXEC --stage S --action A [--summary TEXT]` (PutApprovalResult).
public enum ApprovalDecision {
    public static func decide(layout: StateLayout, execution name: String, stage: String, action: String, approve: Bool,
                              summary: String?, by user: String, now: Double = Date().timeIntervalSince1970) throws -> String {
        let store = try Store(path: layout.database)
        let execution = try store.findExecution(name)
        let changed = try store.write { db -> Int in
            try db.execute(sql: """
                UPDATE approvals SET status = ?, summary = ?, decidedBy = ?, decidedAt = ?
                WHERE executionId = ? AND stageName = ? AND actionName = ? AND status = 'Pending'
                  AND (SELECT status FROM executions WHERE id = executionId) = 'InProgress'
                """, arguments: [approve ? "Approved" : "Rejected", summary, user, now, execution.id, stage, action])
            return db.changesCount
        }
        guard changed > 0 else {
            throw OperationError(message: "\(execution.label) has no approval waiting at \(stage)/\(action) (status: \(execution.status))")
        }
        return "\(execution.label) \(stage)/\(action): \(approve ? "approved" : "rejected")"
    }
}
