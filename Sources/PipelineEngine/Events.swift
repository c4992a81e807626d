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
        case ExecutionStatus.inProgress: "STARTED"
        case ExecutionStatus.cancelled: "CANCELED"
        default: status.uppercased()
        }
    }

    @discardableResult
    static func record(_ db: Database, _ detailType: String, execution: ExecutionRecord, status: String,
                       stage: String? = nil, action: ActionRecord? = nil, time: Double) throws -> Int64 {
        var detail: [String: Any] = [
            "pipeline": execution.pipeline,
            "execution-id": execution.id,
            "state": state(status),
            "version": 1,
        ]
        if let stage { detail["stage"] = stage }
        if let action {
            detail["action"] = action.actionName
            detail["type"] = ["category": action.category, "provider": action.provider, "owner": "Custom", "version": "1"]
        }
        if detailType == pipelineChange {
            detail["execution-trigger"] = ["trigger-type": execution.triggerType, "trigger-detail": execution.triggerDetail]
        }
        let data = try JSONSerialization.data(withJSONObject: detail, options: [.sortedKeys, .withoutEscapingSlashes])
        var event = EventRecord(id: nil, time: time, detailType: detailType, executionId: execution.id,
                                detail: String(decoding: data, as: UTF8.self))
        try event.insert(db)
        return event.id ?? 0
    }
}
