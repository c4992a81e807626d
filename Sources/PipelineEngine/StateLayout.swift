import Foundation
import Git
import PipelineHook

/// Where git-pipeline keeps its state inside a bare repository (SPEC §2).
public struct StateLayout: Sendable {
    public let gitDirectory: String

    public init(gitDirectory: String) { self.gitDirectory = gitDirectory }

    public var root: String { gitDirectory + "/pipeline" }
    public var database: String { root + "/state.sqlite" }
    public var artifacts: String { root + "/artifacts" }
    public var logs: String { root + "/logs" }
    public var work: String { root + "/work" }
    public var runnerLock: String { root + "/runner.lock" }

    public var isInstalled: Bool { FileManager.default.fileExists(atPath: database) }

    /// The repository's name, as CodePipeline's RepositoryName: the folder without `.git`.
    public var repositoryName: String { DefinitionFiles.repositoryName(gitDirectory: gitDirectory) }

    /// Creates the folders (state root 0700: logs and workspaces may hold secrets).
    public func create() throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        chmod(root, 0o700)
        for folder in [artifacts, artifacts + "/sha256", artifacts + "/trees", artifacts + "/tmp", logs, work] {
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
    }
}

/// Settings from the repository's git config (section `pipeline.`), with their defaults.
public struct PipelineSettings: Sendable {
    public var notesRef = "refs/notes/ci"
    /// Seconds a runner waits for new work before it exits.
    public var runnerIdleSeconds: Double = 10
    /// Seconds between SIGTERM and SIGKILL when an action's process group is stopped.
    public var killGraceSeconds: Double = 10
    /// `pipeline.notify`: a shell command that receives each approval request (CodePipeline's
    /// approval notification JSON) on stdin, as an SNS topic would.
    public var notifyCommand: String?

    public init() {}

    public init(repository: Repository) throws {
        if let value = try repository.configString("pipeline.notesRef"), !value.isEmpty {
            notesRef = value.hasPrefix("refs/") ? value : "refs/notes/" + value
        }
        if let value = try repository.configString("pipeline.runnerIdleSeconds"), let seconds = Double(value) { runnerIdleSeconds = seconds }
        if let value = try repository.configString("pipeline.killGraceSeconds"), let seconds = Double(value) { killGraceSeconds = seconds }
        if let value = try repository.configString("pipeline.notify"), !value.isEmpty { notifyCommand = value }
    }

    /// The sibling ref with the machine-readable records (one JSON object per line).
    public var recordsRef: String { notesRef + "-records" }
}
