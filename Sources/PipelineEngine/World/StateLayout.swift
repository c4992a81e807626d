import Foundation
import Git

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
