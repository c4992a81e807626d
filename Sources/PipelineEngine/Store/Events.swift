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

    /// An artifact as an event names it: its name and where its zip is (EventBridge's `s3location`,
    /// here the store's folder and the zip's key in it).
    typealias ArtifactReference = (name: String, digest: String)

    @discardableResult
    static func record(_ db: Database, _ detailType: String, execution: ExecutionRecord, status: some PipelineStatus,
                       stage: String? = nil, action: ActionRecord? = nil, inputArtifacts: [ArtifactReference] = [],
                       outputArtifacts: [ArtifactReference] = [], time: Double) throws -> Int64 {
        try record(db, detailType, execution: execution, status: status.rawValue, stage: stage, action: action,
                   inputArtifacts: inputArtifacts, outputArtifacts: outputArtifacts, time: time)
    }

    /// The event's detail as CodePipeline writes it (the documented examples): `version` and
    /// `pipeline-execution-attempt` are numbers, the action type's `version` a string; action
    /// events carry `region`, `action-execution-id` and `input-artifacts`, and once ended
    /// `output-artifacts` and `execution-result`.
    @discardableResult
    static func record(_ db: Database, _ detailType: String, execution: ExecutionRecord, status: String,
                       stage: String? = nil, action: ActionRecord? = nil, inputArtifacts: [ArtifactReference] = [],
                       outputArtifacts: [ArtifactReference] = [], time: Double) throws -> Int64 {
        let word = state(status)
        // From the row, not the record in memory, which may predate them: the pipeline's version (set on
        // insert), the attempt (a retry's), and where the store is (the artifacts' folder beside it).
        let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT pipelineVersion, attempt, (SELECT file FROM pragma_database_list WHERE name = 'main') AS database FROM executions WHERE id = ?
            """), arguments: [execution.id])
        let version: Int = row?["pipelineVersion"] ?? execution.pipelineVersion ?? 1
        let attempt: Int = row?["attempt"] ?? execution.attempt
        var detail: [String: JSONValue] = [
            "pipeline": .string(execution.pipeline),
            "execution-id": .string(execution.id),
            "start-time": .string(isoTime(execution.startedAt ?? execution.createdAt, milliseconds: true)),
            "state": .string(word),
            "version": .number(Double(version)),
            "pipeline-execution-attempt": .number(Double(attempt)),
        ]
        if let stage { detail["stage"] = .string(stage) }
        if let action {
            let folder = ((row?["database"] as String? ?? "") as NSString).deletingLastPathComponent + "/artifacts"
            func references(_ artifacts: [ArtifactReference]) -> JSONValue {
                .array(artifacts.map { .object(["name": .string($0.name),
                                                "s3location": .object(["bucket": .string(folder), "key": .string("sha256/\($0.digest).zip")])]) })
            }
            detail["action"] = .string(action.actionName)
            detail["action-execution-id"] = .string("\(execution.id):\(action.id ?? 0)")
            detail["region"] = .string("local")
            detail["type"] = .object(["category": .string(action.category), "provider": .string(action.provider),
                                      "owner": .string("Custom"), "version": .string("1")])
            detail["input-artifacts"] = references(inputArtifacts)
            if action.status.isTerminal {
                detail["output-artifacts"] = references(outputArtifacts)
                var result: [String: JSONValue] = ["external-execution-id": .string("\(execution.id):\(action.id ?? 0)")]
                if let summary = action.summary ?? action.errorMessage { result["external-execution-summary"] = .string(summary) }
                if let log = action.logPath { result["external-execution-url"] = .string("file://" + log) }
                if action.status == .failed { result["error-code"] = .string("JobFailed") }
                detail["execution-result"] = .object(result)
            }
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
