import Foundation
import GRDB
import PipelineModel

/// CodePipeline's stage rollback (RollbackStage): a new execution of type ROLLBACK that runs only
/// one stage, with the artifacts and variables of an earlier execution that succeeded there.
public enum StageRollback {
    /// `git pipeline rollback PIPELINE --stage S [--to EXEC]`.
    public static func rollback(layout: StateLayout, pipeline: String, stage: String, to target: String?, startedBy actor: Actor,
                                now: Double = Date().timeIntervalSince1970) throws -> ExecutionRecord {
        let store = try Store(path: layout.database)
        let execution = try create(store: store, pipeline: pipeline, stage: stage, target: target, trigger: "ManualRollback",
                                   detail: ["startedBy": actor.description], now: now)
        try store.write { db in
            try Audit.record(db, "RollbackStage", actor: actor, executionId: execution.id,
                             parameters: ["pipelineName": pipeline, "stageName": stage, "targetPipelineExecutionId": execution.rollbackTarget ?? ""], time: now)
        }
        return execution
    }

    /// Records the ROLLBACK execution (the runner picks it up). Without `target`, the newest
    /// STANDARD execution that succeeded in `stage`, other than the one that entered it last.
    static func create(store: Store, pipeline: String, stage: String, target name: String?, trigger: String,
                       detail: [String: String], now: Double) throws -> ExecutionRecord {
        let target: ExecutionRecord
        // CodePipeline rolls back only within the pipeline's current structure: the stages of its
        // newest execution's definition.
        let current = Reports.latestDeclaration(try store.executions(pipeline: pipeline, limit: 50))?.stages
        func structure(_ execution: ExecutionRecord) -> [Stage]? { execution.declaration?.stages }
        if let name {
            target = try store.findExecution(name)
            guard target.pipeline == pipeline else {
                throw OperationError(message: "\(target.label) is not an execution of \(pipeline)", isUsage: true)
            }
            if let redeployed = target.rollbackTarget {
                let original = (try? store.execution(id: redeployed)) ?? nil
                throw OperationError(message: "\(target.label) is itself a rollback; roll back to an execution that ran the stage" +
                                     (original.map { " (it redeployed \($0.label): --to \($0.pipeline)#\($0.number))" } ?? ""), isUsage: true)
            }
            if let current, structure(target) != current {
                throw OperationError(message: "\(target.label) ran an earlier structure of \(pipeline) (its stages or actions have changed since); " +
                                     "as in CodePipeline, a rollback goes to an execution of the current structure", isUsage: true)
            }
            let status = try store.read { try StageStatus.fetchOne($0, sql: "SELECT status FROM stages WHERE executionId = ? AND name = ?", arguments: [target.id, stage]) }
            guard status == .succeeded else {
                throw OperationError(message: "stage \(stage) of \(target.label) is \(status?.rawValue ?? "not run"); a rollback goes to an execution that succeeded there")
            }
        } else {
            let found = try store.read { db -> ExecutionRecord? in
                let last = try String.fetchOne(db, sql: """
                    SELECT s.executionId FROM stages s JOIN executions e ON e.id = s.executionId
                    WHERE e.pipeline = ? AND s.name = ? ORDER BY s.startedAt DESC LIMIT 1
                    """, arguments: [pipeline, stage])
                return try ExecutionRecord.fetchAll(db, sql: """
                    SELECT e.* FROM stages s JOIN executions e ON e.id = s.executionId
                    WHERE e.pipeline = ? AND s.name = ? AND s.status = 'Succeeded' AND e.rollbackTarget IS NULL AND e.id IS NOT ?
                    ORDER BY s.startedAt DESC LIMIT 50
                    """, arguments: [pipeline, stage, last]).first { current == nil || structure($0) == current }
            }
            guard let found else {
                throw OperationError(message: "no earlier execution of \(pipeline) with its current structure succeeded in stage \(stage); nothing to roll back to")
            }
            target = found
        }
        guard let declaration = target.declaration, let index = declaration.stages.firstIndex(where: { $0.name == stage }) else {
            throw OperationError(message: "\(target.label) has no stage \(stage)", isUsage: true)
        }
        guard index > 0 else {
            throw OperationError(message: "\(stage) is the source stage; CodePipeline rolls back later stages only", isUsage: true)
        }
        var fields = detail
        fields["targetPipelineExecutionId"] = target.id
        fields["stage"] = stage
        return try store.write { db in
            var execution = target
            execution.id = UUID().uuidString.lowercased()
            execution.number = try Store.nextNumber(db, pipeline: pipeline)
            execution.status = .inProgress
            execution.statusSummary = "rollback of stage \(stage) to \(target.label)"
            execution.oldRevision = nil
            execution.triggerType = trigger
            execution.triggerDetail = jsonText(fields, pretty: false)
            execution.createdAt = now
            execution.startedAt = nil
            execution.endedAt = nil
            execution.claimedBy = nil
            execution.waitingStage = nil
            execution.stopMode = nil
            execution.retryStage = stage
            execution.retryMode = "ALL_ACTIONS"
            execution.notedRevision = nil
            execution.rollbackTarget = target.id
            try execution.insert(db)
            try db.execute(sql: "INSERT INTO artifacts (executionId, name, digest, size) SELECT ?, name, digest, size FROM artifacts WHERE executionId = ?",
                           arguments: [execution.id, target.id])
            try Events.record(db, Events.pipelineChange, execution: execution, status: ExecutionStatus.inProgress, time: now)
            return execution
        }
    }
}
