import Foundation
import PipelineModel

/// What an action needs to run: its declaration, where to put its workspace and log, the artifacts
/// produced so far, and the environment CodeBuild would give it.
struct ActionContext {
    let execution: ExecutionRecord
    let stage: Stage
    let action: Action
    let attempt: Int
    let layout: StateLayout
    let settings: PipelineSettings
    let artifacts: ArtifactStore
    /// Artifact name → digest, for every artifact produced earlier in this execution.
    let availableArtifacts: [String: String]
    let logPath: String
    let workspace: String

    /// Appends a line to the action's log.
    func log(_ line: String) {
        guard let handle = FileHandle(forWritingAtPath: logPath) else { return }
        defer { try? handle.close() }
        handle.seekToEndOfFile()
        handle.write(Data((line + "\n").utf8))
    }

    /// CodeBuild's variables plus ours (SPEC §6).
    func environment(sourceDirectory: String, secondaryInputs: [String: String]) -> [String: String] {
        var env = ProcessLauncher.cleanEnvironment()
        let start = Int64((execution.startedAt ?? Date().timeIntervalSince1970) * 1000)
        env["CODEBUILD_BUILD_ID"] = "\(execution.pipeline):\(execution.id)"
        env["CODEBUILD_BUILD_NUMBER"] = String(execution.number)
        env["CODEBUILD_RESOLVED_SOURCE_VERSION"] = execution.sourceRevision
        env["CODEBUILD_SOURCE_VERSION"] = execution.sourceRevision
        env["CODEBUILD_SRC_DIR"] = sourceDirectory
        env["CODEBUILD_BUILD_SUCCEEDING"] = "1"
        env["CODEBUILD_INITIATOR"] = "codepipeline/\(execution.pipeline)"
        env["CODEBUILD_START_TIME"] = String(start)
        env["CODEBUILD_WEBHOOK_HEAD_REF"] = execution.ref
        for (name, path) in secondaryInputs { env["CODEBUILD_SRC_DIR_\(name)"] = path }
        env["PIPELINE_NAME"] = execution.pipeline
        env["PIPELINE_EXECUTION_ID"] = execution.id
        env["PIPELINE_EXECUTION_NUMBER"] = String(execution.number)
        env["PIPELINE_STAGE"] = stage.name
        env["PIPELINE_ACTION"] = action.name
        env["PIPELINE_ACTION_ATTEMPT"] = String(attempt)
        env["PIPELINE_REF"] = execution.ref
        env["PIPELINE_BRANCH"] = execution.ref.hasPrefix("refs/heads/") ? execution.refShortName : ""
        env["PIPELINE_TAG"] = execution.ref.hasPrefix("refs/tags/") ? execution.refShortName : ""
        env["PIPELINE_COMMIT"] = execution.sourceRevision
        env["PIPELINE_REPOSITORY"] = layout.gitDirectory
        return env
    }
}

/// What an action ended with.
struct ActionOutcome {
    var succeeded: Bool
    var summary: String?
    var errorMessage: String?
    var failedCommand: String?
    var outputArtifacts: [(name: String, digest: String, size: Int64)] = []
    var outputVariables: [String: String] = [:]

    static func failure(_ message: String, command: String? = nil) -> ActionOutcome {
        ActionOutcome(succeeded: false, errorMessage: message, failedCommand: command)
    }
}
