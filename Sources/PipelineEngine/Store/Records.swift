import Foundation
import GRDB
import PipelineModel

/// A pipeline execution as the store keeps it. `status` uses CodePipeline's words; `claimedBy` is
/// the pid of the runner working on it (nil: waiting for a runner).
public struct ExecutionRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "executions"
    public var id: String
    public var pipeline: String
    public var number: Int
    /// Changed only through `StatusMachine` (Store/Transitions.swift).
    public var status: ExecutionStatus
    public var statusSummary: String?
    public var executionMode: String
    public var ref: String
    public var sourceRevision: String
    public var oldRevision: String?
    public var triggerType: String
    public var triggerDetail: String
    public var definitionPath: String
    /// The declaration as JSON, from the execution's own source revision (nil when it did not parse).
    public var definitionJSON: String?
    /// The validation errors, one per line, when the definition did not parse.
    public var definitionError: String?
    public var sourceArtifactDigest: String?
    public var createdAt: Double
    public var startedAt: Double?
    public var endedAt: Double?
    public var claimedBy: Int?
    /// The stage this execution waits to enter, while another holds it.
    public var waitingStage: String?
    /// Pipeline variables given at start, as a JSON object.
    public var variables: String?
    /// 'wait' or 'abandon' once `stop` was asked for.
    public var stopMode: String?
    /// What `stop --reason` said (CodePipeline's stopTrigger.reason).
    public var stopReason: String?
    /// CodePipeline's pipelineVersion, set by the store when the row is inserted (Store's v16).
    public var pipelineVersion: Int?
    /// CodePipeline's pipeline-execution-attempt: 1, one more with each retry (StatusChanges).
    public var attempt = 1
    /// The stage a retry starts at, and FAILED_ACTIONS or ALL_ACTIONS.
    public var retryStage: String?
    public var retryMode: String?
    /// The last event id the notes show.
    public var notedRevision: Int64?
    /// A ROLLBACK execution's target: the execution whose artifacts and variables it redeploys.
    public var rollbackTarget: String?
    /// The push-journal entry (`entryId ref`) that recorded this execution.
    public var intakeEntry: String?

    public init(id: String, pipeline: String, number: Int, status: ExecutionStatus, statusSummary: String? = nil, executionMode: String,
                ref: String, sourceRevision: String, oldRevision: String? = nil, triggerType: String, triggerDetail: String,
                definitionPath: String, definitionJSON: String?, definitionError: String? = nil, createdAt: Double,
                variables: String? = nil, rollbackTarget: String? = nil) {
        self.id = id
        self.pipeline = pipeline
        self.number = number
        self.status = status
        self.statusSummary = statusSummary
        self.executionMode = executionMode
        self.ref = ref
        self.sourceRevision = sourceRevision
        self.oldRevision = oldRevision
        self.triggerType = triggerType
        self.triggerDetail = triggerDetail
        self.definitionPath = definitionPath
        self.definitionJSON = definitionJSON
        self.definitionError = definitionError
        self.createdAt = createdAt
        self.variables = variables
        self.rollbackTarget = rollbackTarget
    }

    /// The declaration the execution runs (nil when its definition did not parse): the one decoding
    /// of `definitionJSON` for every reader.
    public var declaration: PipelineDeclaration? {
        definitionJSON.flatMap { try? JSONDecoder().decode(PipelineDeclaration.self, from: Data($0.utf8)) }
    }

    /// The pipeline-level variables the execution resolves (CodePipeline's rule): each declared
    /// variable with the value given at start, else its default. `variables.NAME` reads these.
    func pipelineVariables(of declaration: PipelineDeclaration) -> [(name: String, value: String)] {
        let given = variables.flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) } ?? [:]
        return declaration.variables.compactMap { variable in (given[variable.name] ?? variable.defaultValue).map { (variable.name, $0) } }
    }

    /// CodePipeline's executionType: STANDARD, or ROLLBACK for a stage rollback.
    public var executionType: String { rollbackTarget == nil ? "STANDARD" : "ROLLBACK" }

    /// `main` for `refs/heads/main`, `v1.0` for `refs/tags/v1.0`.
    public var refShortName: String { shortRefName(ref) }

    public var label: String { "\(pipeline) #\(number)" }
    public var isTerminal: Bool { status.isTerminal }
}

public struct StageRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "stages"
    public var executionId: String
    public var stageIndex: Int
    public var name: String
    public var status: StageStatus
    public var startedAt: Double?
    public var endedAt: Double?
}

public struct ActionRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "actions"
    public var id: Int64?
    public var executionId: String
    public var stageName: String
    public var actionName: String
    public var category: String
    public var provider: String
    public var runOrder: Int
    public var attempt: Int
    public var status: ActionStatus
    public var startedAt: Double?
    public var endedAt: Double?
    /// The process group of the running action, so stop and recovery can signal it.
    public var processGroup: Int?
    public var logPath: String?
    public var summary: String?
    public var errorMessage: String?
    public var failedCommand: String?
    /// Output variables as a JSON object.
    public var outputVariables: String?
    /// Test results (a TestReport as JSON) of a build with reports.
    public var testReport: String?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// Seconds it ran, or has run until `now`.
    public func duration(now: Double) -> Double? { startedAt.map { (endedAt ?? now) - $0 } }
}

public struct ArtifactRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "artifacts"
    public var executionId: String
    public var name: String
    public var digest: String
    public var size: Int64
}

public struct EventRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable {
    public static let databaseTableName = "events"
    public var id: Int64?
    public var time: Double
    /// EventBridge's detail-type, e.g. "CodePipeline Pipeline Execution State Change".
    public var detailType: String
    public var executionId: String
    /// EventBridge's `detail` object as JSON.
    public var detail: String

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
