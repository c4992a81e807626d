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

    /// True when the state folder is there, whether or not this user may look inside it.
    public var isInstalled: Bool {
        var info = stat()
        return stat(root, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Why this user cannot use the store, or nil when they can (a pusher of a repository whose
    /// state is someone else's).
    public var accessProblem: String? {
        for path in [root, database] where access(path, R_OK | W_OK) != 0 {
            let reason = String(cString: strerror(errno))  // before stat and getpwuid may change errno
            var info = stat()
            _ = stat(path, &info)
            let owner = getpwuid(info.st_uid).map { String(cString: $0.pointee.pw_name) } ?? "\(info.st_uid)"
            return "\(Identity.systemUser()) cannot write \(path) (\(reason); owner \(owner), mode " +
                String(info.st_mode & 0o7777, radix: 8) + ")"
        }
        return nil
    }

    /// The repository's name, as CodePipeline's RepositoryName: the folder without `.git`.
    public var repositoryName: String { DefinitionFiles.repositoryName(gitDirectory: gitDirectory) }

    /// Creates the folders. The state root is 0700 (logs and workspaces may hold secrets); in a
    /// shared repository it belongs to the repository's group, 2770, so every pusher's hook and
    /// runner may write in it, and the folders below inherit the group.
    public func create(shared: SharedRepository? = nil) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if let shared, let group = SharedRepository.group(of: gitDirectory) {
            chown(root, uid_t.max, group)
            chmod(root, shared.stateDirectoryMode)
        } else {
            chmod(root, 0o700)
        }
        for folder in [artifacts, artifacts + "/sha256", artifacts + "/trees", artifacts + "/tmp", logs, work] {
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        // Made here, not by the first hook, so that it has the shared mode (hooks run with the
        // pusher's umask).
        let journal = open(root + "/" + PushJournal.name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o666)
        if journal >= 0 { close(journal) }
    }
}
