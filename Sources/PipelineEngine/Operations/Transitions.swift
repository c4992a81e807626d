import Foundation
import GRDB

/// `git pipeline transition disable|enable PIPELINE --stage S` (CodePipeline's
/// Disable/EnableStageTransition): no execution enters a disabled stage; they wait in front of it.
public enum Transitions {
    public static func set(layout: StateLayout, pipeline: String, stage: String, enabled: Bool, reason: String?, by actor: Actor,
                           now: Double = Date().timeIntervalSince1970) throws -> String {
        let store = try Store(path: layout.database)
        let stages = try Reports(layout: layout, store: store).stageNames(pipeline: pipeline)
        guard stages.contains(stage) else {
            throw OperationError(message: "pipeline \(pipeline) has no stage `\(stage)` (stages: \(stages.joined(separator: ", ")))")
        }
        // As in CodePipeline, the first stage has no inbound transition: every execution enters it.
        if !enabled && stage == stages.first {
            let next = stages.dropFirst().first
            throw OperationError(message: "`\(stage)` is the first stage of \(pipeline): it has no inbound transition, every execution enters it" +
                                 (next.map { " — to hold executions after it, disable the transition into `\($0)`" } ?? ""), isUsage: true)
        }
        try store.write { db in
            if enabled {
                try db.execute(sql: "DELETE FROM transitions WHERE pipeline = ? AND stage = ?", arguments: [pipeline, stage])
            } else {
                try db.execute(sql: "INSERT OR REPLACE INTO transitions (pipeline, stage, reason, changedBy, changedAt) VALUES (?, ?, ?, ?, ?)",
                               arguments: [pipeline, stage, reason, actor.description, now])
            }
            var parameters = ["pipelineName": pipeline, "stageName": stage, "transitionType": "Inbound"]
            if let reason { parameters["reason"] = reason }
            try Audit.record(db, enabled ? "EnableStageTransition" : "DisableStageTransition", actor: actor, executionId: nil,
                             parameters: parameters, time: now)
        }
        return enabled ? "\(pipeline): executions enter \(stage) again" : "\(pipeline): no execution enters \(stage) until `transition enable`"
    }

    /// The disabled transition of a stage, as GetPipelineState's inboundTransitionState.
    static func state(_ db: Database, pipeline: String, stage: String) throws -> TransitionState {
        guard let row = try Row.fetchOne(db, sql: "SELECT reason, changedBy, changedAt FROM transitions WHERE pipeline = ? AND stage = ?",
                                         arguments: [pipeline, stage]) else { return TransitionState(enabled: true) }
        return TransitionState(enabled: false, lastChangedBy: row["changedBy"], lastChangedAt: isoTime(row["changedAt"] as Double),
                               disabledReason: row["reason"])
    }
}
