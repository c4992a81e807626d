import Foundation

// The read views in CodePipeline's API names and shapes (SPEC §7), so scripts written against
// `aws codepipeline` read our `--json`. Fields that CodePipeline does not have are marked.

/// ListPipelineExecutions' output.
public struct ListPipelineExecutionsOutput: Codable, Sendable, Equatable {
    public var pipelineExecutionSummaries: [PipelineExecutionSummary]
}

public struct PipelineExecutionSummary: Codable, Sendable, Equatable {
    public var pipelineName: String  // ours: a summary names its pipeline
    public var pipelineExecutionNumber: Int  // ours: app #12
    public var pipelineExecutionId: String
    public var status: String
    public var statusSummary: String?
    public var startTime: String
    public var lastUpdateTime: String
    public var sourceRevisions: [SourceRevision]
    public var trigger: ExecutionTrigger
    public var executionMode: String
    public var executionType: String
    public var rollbackMetadata: RollbackMetadata?
    /// Set once the execution was asked to stop.
    public var stopTrigger: StopTrigger?
}

public struct StopTrigger: Codable, Sendable, Equatable {
    public var reason: String
}

public struct SourceRevision: Codable, Sendable, Equatable {
    public var actionName: String
    public var revisionId: String
    public var revisionSummary: String
}

public struct ExecutionTrigger: Codable, Sendable, Equatable {
    public var triggerType: String
    public var triggerDetail: String
}

/// PipelineRollbackMetadata, on a summary and on an execution alike.
public struct RollbackMetadata: Codable, Sendable, Equatable {
    public var rollbackTargetPipelineExecutionId: String
}

/// ResolvedPipelineVariable: a pipeline-level variable's value in an execution.
public struct ResolvedPipelineVariable: Codable, Sendable, Equatable {
    public var name: String
    public var resolvedValue: String
}

/// GetPipelineExecution's output, plus the execution's summary and stage states.
public struct GetPipelineExecutionOutput: Codable, Sendable, Equatable {
    public var pipelineExecution: PipelineExecution
    public var pipelineExecutionSummary: PipelineExecutionSummary  // ours: its times, its stop trigger (ListPipelineExecutions' shape)
    public var stageStates: [StageState]  // ours: GetPipelineState's states of this execution
}

public struct PipelineExecution: Codable, Sendable, Equatable {
    public var pipelineName: String
    public var pipelineVersion: Int
    public var pipelineExecutionId: String
    public var pipelineExecutionNumber: Int  // ours
    public var status: String
    public var statusSummary: String?
    public var executionMode: String
    public var executionType: String
    public var trigger: ExecutionTrigger
    public var artifactRevisions: [ArtifactRevision]
    public var variables: [ResolvedPipelineVariable]
    public var rollbackMetadata: RollbackMetadata?
    public var ref: String  // ours
    public var definitionPath: String  // ours
    public var definitionErrors: [String]?  // ours
    public var artifacts: [StoredArtifact]  // ours: the execution's artifacts with their digests
}

public struct ArtifactRevision: Codable, Sendable, Equatable {
    public var name: String
    public var revisionId: String
    public var revisionSummary: String
}

public struct StoredArtifact: Codable, Sendable, Equatable {
    public var name: String
    public var digest: String
    public var size: Int64
}

/// GetPipelineState's output, plus the deploy ledger.
public struct GetPipelineStateOutput: Codable, Sendable, Equatable {
    public var pipelineName: String
    public var pipelineVersion: Int
    public var stageStates: [StageState]
    public var created: String
    public var updated: String
    public var deployments: [DeploymentState]  // ours: one entry per Directory target
}

public struct StageState: Codable, Sendable, Equatable {
    public var stageName: String
    public var inboundTransitionState: TransitionState?
    public var inboundExecutions: [InboundExecution]?
    public var latestExecution: StageExecution?
    public var actionStates: [ActionState]
}

public struct TransitionState: Codable, Sendable, Equatable {
    public var enabled: Bool
    public var lastChangedBy: String?
    public var lastChangedAt: String?
    public var disabledReason: String?
}

public struct InboundExecution: Codable, Sendable, Equatable {
    public var pipelineExecutionId: String
    public var status: String
    public var pipelineExecutionNumber: Int  // ours
}

public struct StageExecution: Codable, Sendable, Equatable {
    public var pipelineExecutionId: String
    public var status: String
}

public struct ActionState: Codable, Sendable, Equatable {
    public var actionName: String
    public var latestExecution: ActionExecution?
}

public struct ActionExecution: Codable, Sendable, Equatable {
    public var actionExecutionId: String
    public var status: String
    public var attempt: Int  // ours
    public var lastStatusChange: String
    public var summary: String?
    public var errorDetails: ErrorDetails?
    public var logPath: String?  // ours
    public var testReport: TestReport?  // ours: the JUnit results of a build
    public var outputVariables: [String: String]?
}

public struct ErrorDetails: Codable, Sendable, Equatable {
    public var code: String
    public var message: String
}

public struct DeploymentState: Codable, Sendable, Equatable {
    public var target: String
    public var deploymentId: String
    public var revision: String
    public var pipelineExecutionId: String
    public var execution: String
    public var kind: String
    public var status: String
    public var liveSince: String
    public var previous: PreviousDeployment?
}

public struct PreviousDeployment: Codable, Sendable, Equatable {
    public var deploymentId: String
    public var revision: String
    public var execution: String
}

/// An event in EventBridge's envelope.
public struct EventEnvelope: Codable, Sendable, Equatable {
    public var version: String
    public var id: String
    public var detailType: String
    public var source: String
    public var account: String
    public var region: String
    public var time: String
    public var resources: [String]
    public var detail: JSONValue

    enum CodingKeys: String, CodingKey {
        case version, id, detailType = "detail-type", source, account, region, time, resources, detail
    }
}

/// Any JSON value: an event's detail as it was stored.
public enum JSONValue: Codable, Sendable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if value == value.rounded(), abs(value) < 1e15 { try container.encode(Int64(value)) } else { try container.encode(value) }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] } else { return nil }
    }

    public var string: String? { if case .string(let value) = self { return value } else { return nil } }
}

/// The JSON text of a view: sorted keys, so output compares byte for byte.
public func jsonText(_ value: some Encodable, pretty: Bool) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
}
