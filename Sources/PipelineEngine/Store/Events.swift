import Foundation
import GRDB

/// Records state changes as CodePipeline's EventBridge events (detail-type and detail fields as
/// EventBridge writes them: `pipeline`, `execution-id`, `stage`, `action`, `state` in upper case).
enum Events {
    static let pipelineChange = "CodePipeline Pipeline Execution State Change"
    static let stageChange = "CodePipeline Stage Execution State Change"
    static let actionChange = "CodePipeline Action Execution State Change"

    /// EventBridge's state words: STARTED, SUCCEEDED, FAILED, SUPERSEDED, CANCELED, STOPPING, STOPPED, ABANDONED.
    static func state(_ status: String) -> String {
        switch status {
        case ExecutionStatus.inProgress.rawValue: "STARTED"
        case ExecutionStatus.cancelled.rawValue: "CANCELED"
        default: status.uppercased()
        }
    }

    @discardableResult
    static func record(_ db: Database, _ detailType: String, execution: ExecutionRecord, status: some PipelineStatus,
                       stage: String? = nil, action: ActionRecord? = nil, time: Double) throws -> Int64 {
        try record(db, detailType, execution: execution, status: status.rawValue, stage: stage, action: action, time: time)
    }

    @discardableResult
    static func record(_ db: Database, _ detailType: String, execution: ExecutionRecord, status: String,
                       stage: String? = nil, action: ActionRecord? = nil, time: Double) throws -> Int64 {
        var detail: [String: JSONValue] = [
            "pipeline": .string(execution.pipeline),
            "execution-id": .string(execution.id),
            "state": .string(state(status)),
            "version": .number(1),
        ]
        if let stage { detail["stage"] = .string(stage) }
        if let action {
            detail["action"] = .string(action.actionName)
            detail["type"] = .object(["category": .string(action.category), "provider": .string(action.provider),
                                      "owner": .string("Custom"), "version": .string("1")])
        }
        if detailType == pipelineChange {
            detail["execution-trigger"] = .object(["trigger-type": .string(execution.triggerType), "trigger-detail": .string(execution.triggerDetail)])
        }
        var event = EventRecord(id: nil, time: time, detailType: detailType, executionId: execution.id,
                                detail: jsonText(JSONValue.object(detail), pretty: false))
        try event.insert(db)
        return event.id ?? 0
    }
}
