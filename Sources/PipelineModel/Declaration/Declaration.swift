/// How executions share the pipeline's stages (CodePipeline's executionMode).
public enum ExecutionMode: String, Sendable, Codable, CaseIterable {
    case superseded = "SUPERSEDED"
    case queued = "QUEUED"
    case parallel = "PARALLEL"
}

/// CodePipeline's action categories.
public enum ActionCategory: String, Sendable, Codable, CaseIterable {
    case source = "Source", build = "Build", test = "Test", deploy = "Deploy", approval = "Approval", invoke = "Invoke"
    /// CodePipeline's category of its Commands action (`actionTypeId: {category: Compute, provider: Commands}`).
    case compute = "Compute"
}

/// A rule of a definition's `notifications:` section: an EventBridge-like pattern on the
/// pipeline's own events and where to send those that match. Only webhooks and mail: a pusher's
/// definition may not run commands on the server (that target is the admin's, in git config).
public struct NotificationDeclaration: Sendable, Codable, Equatable {
    public var name: String
    public var detailTypes: [String] = []
    public var states: [String] = []
    public var stages: [String] = []
    public var actions: [String] = []
    public var webhooks: [String] = []
    /// `slack`: a `{"text": …}` body for Slack and Mattermost incoming webhooks.
    public var format: String?
    public var mail: [String] = []

    public init(name: String) { self.name = name }

    /// CodePipeline's event detail-types and states (its user guide's "Monitoring with EventBridge").
    public static let detailTypes = ["CodePipeline Pipeline Execution State Change", "CodePipeline Stage Execution State Change",
                                     "CodePipeline Action Execution State Change", "AWS API Call via CloudTrail"]
    public static let states = ["STARTED", "SUCCEEDED", "RESUMED", "FAILED", "CANCELED", "SUPERSEDED", "STOPPING", "STOPPED", "ABANDONED"]

    /// A mail address we hand to sendmail: one `local@domain`, nothing a header or a command line
    /// could read as more.
    public static func isMailAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), text.count <= 254, !text.hasPrefix("-") else { return false }
        return text.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 32 && !"<>()[],;:\\\"'`$|&".unicodeScalars.contains($0) }
    }
}

/// A pipeline as declared in `.pipeline.yml` or `.pipelines/NAME.yml`.
public struct PipelineDeclaration: Sendable, Codable, Equatable {
    public var name: String
    public var executionMode: ExecutionMode
    public var variables: [PipelineVariable]
    public var triggers: [Trigger]
    public var stages: [Stage]
    /// Findings that do not stop the pipeline from running.
    public var warnings: [Diagnostic]
    /// `network: none` cuts every action of the pipeline off the network (nil: on); an action's
    /// `configuration.Network` wins.
    public var network: String? = nil
    /// `notifications:` rules on this pipeline's events (nil in definitions stored before them).
    public var notifications: [NotificationDeclaration]? = nil

    public init(name: String, executionMode: ExecutionMode = .superseded, variables: [PipelineVariable] = [],
                triggers: [Trigger] = [], stages: [Stage], warnings: [Diagnostic] = []) {
        self.name = name
        self.executionMode = executionMode
        self.variables = variables
        self.triggers = triggers
        self.stages = stages
        self.warnings = warnings
    }

    /// Every action, stage by stage.
    public var actions: [Action] { stages.flatMap(\.actions) }

    /// The branches the Git source actions name (`configuration.BranchName`, or GitHub v1's
    /// `Branch`), in order, without repeats.
    public var sourceBranches: [String] {
        var branches: [String] = []
        for action in actions where action.category == .source && action.provider == "Git" {
            if let branch = action.configuration["BranchName"] ?? action.configuration["Branch"], !branch.isEmpty,
               !branches.contains(branch) { branches.append(branch) }
        }
        return branches
    }

    /// The push filters that decide which pushes start the pipeline: its triggers' when it has any;
    /// without triggers, its sources' branches (a CodePipeline without triggers runs for the branch
    /// its source action watches); with neither, none (every branch push).
    public var pushFilters: [PushFilter] {
        if !triggers.isEmpty { return triggers.flatMap(\.push) }
        let branches = sourceBranches
        return branches.isEmpty ? [] : [PushFilter(branches: PatternFilter(includes: branches, excludes: []))]
    }

    /// The output artifacts of Git sources with `OutputArtifactFormat: CODEBUILD_CLONE_REF` (or
    /// `CLONE_REF`): those whose consumers get a clone with history, as CodeBuild's "full clone".
    public var cloneArtifacts: Set<String> {
        Set(actions.filter { $0.provider == "Git" && ["CODEBUILD_CLONE_REF", "CLONE_REF"].contains($0.configuration["OutputArtifactFormat"] ?? "") }
            .flatMap { $0.outputArtifacts.map(\.name) })
    }
}

public struct PipelineVariable: Sendable, Codable, Equatable {
    public var name: String
    public var defaultValue: String?
    public var description: String?
}

public struct Stage: Sendable, Codable, Equatable {
    public var name: String
    public var actions: [Action]
    /// `onFailure.result` (ROLLBACK, RETRY, FAIL) when given.
    public var onFailureResult: String?

    /// The actions grouped by runOrder, lowest first: each group runs in parallel.
    public var runOrderGroups: [[Action]] {
        Dictionary(grouping: actions, by: \.runOrder).sorted { $0.key < $1.key }.map(\.value)
    }
}

public struct Action: Sendable, Codable, Equatable {
    public var name: String
    public var category: ActionCategory
    public var provider: String
    public var runOrder: Int
    public var configuration: [String: String]
    /// The Commands provider's shell commands, run in order in one shell session.
    public var commands: [String]
    /// Environment variables a Commands action exports as output variables.
    public var outputVariables: [String]
    public var inputArtifacts: [String]
    public var outputArtifacts: [OutputArtifact]
    public var namespace: String?
    public var timeoutInMinutes: Int
    public var location: SourceLocation?
    /// Who may decide a Manual approval: user names and `@group`s (nil: anyone, or `pipeline.approvers`).
    public var approvers: [String]? = nil
}

/// An artifact an action produces: `files` globs relative to its workspace (nil: the whole workspace).
public struct OutputArtifact: Sendable, Codable, Equatable {
    public var name: String
    public var files: [String]?
}

extension PipelineDeclaration {
    /// Whether a push of `ref` (full name, `refs/heads/…` or `refs/tags/…`) starts this pipeline.
    /// No triggers means the sources' branches, else every branch push. `changedPaths` is nil when
    /// the caller has not computed them; a filePaths filter then does not match.
    public func isTriggered(byRef ref: String, changedPaths: [String]?) -> Bool {
        PushFilter.matches(pushFilters, ref: ref, changedPaths: changedPaths)
    }
}
