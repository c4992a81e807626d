import Foundation
import Git
import HookClient

/// `core.sharedRepository`, honoured in everything git-pipeline writes (SPEC §9): git objects and
/// refs (the notes), and the state folder with every file in it, so that any user who may push can
/// append, record and run, and no write of ours makes anyone's later push fail.
///
/// It works through the process umask (set once per process, before anything is written: libgit2
/// creates objects and refs with the umask, as git does) and through the state folder's own group
/// and setgid bit, which every folder below it inherits.
public struct SharedRepository: Sendable, Equatable {
    /// The mode git gives files: 0660 for `group`, 0664 for `all`, or the octal value.
    public let fileMode: mode_t

    /// What the umask must let through: the file mode, plus x wherever it has r (for folders).
    var allowed: mode_t { fileMode | ((fileMode & 0o444) >> 2) }
    public var umask: mode_t { 0o777 & ~allowed }
    /// The state folder is never world-readable (logs and secrets live there), whatever `all` says.
    public var stateDirectoryMode: mode_t { (allowed & 0o770) | mode_t(S_ISGID) }
    public var stateFileMode: mode_t { fileMode & 0o660 }

    /// git's reading of the value (setup.c): nil when the repository is not shared.
    public static func parse(_ value: String?) -> SharedRepository? {
        HookWire.sharedFileMode(value?.trimmingCharacters(in: .whitespaces)).map { SharedRepository(fileMode: $0) }
    }

    /// The repository's setting, from its git config.
    public static func of(_ repository: Repository) -> SharedRepository? {
        parse(try? repository.configString("core.sharedRepository"))
    }

    /// Sets this process's umask for the repository at `gitDirectory` (a shared one only) and
    /// returns its setting. Call it before writing anything there.
    @discardableResult
    public static func apply(gitDirectory: String) -> SharedRepository? {
        guard let repository = try? Repository(path: gitDirectory), let shared = of(repository) else { return nil }
        Glibc.umask(shared.umask)
        return shared
    }

    /// Gives `path` and everything below it the repository's group and the shared modes: what
    /// `install` does to a state folder made before the repository was shared. Returns the paths
    /// it could not change.
    public func adopt(_ path: String, group: gid_t) -> [String] {
        var failed: [String] = []
        func fix(_ item: String) {
            var info = stat()
            guard lstat(item, &info) == 0, (info.st_mode & S_IFMT) != S_IFLNK else { return }
            let isFolder = (info.st_mode & S_IFMT) == S_IFDIR
            let mode = isFolder ? stateDirectoryMode : (info.st_mode & 0o111 != 0 ? stateFileMode | ((stateFileMode & 0o444) >> 2) : stateFileMode)
            if lchown(item, uid_t.max, group) != 0 || chmod(item, (info.st_mode & ~0o7777) | (isFolder ? mode : (info.st_mode & 0o700) | mode)) != 0 {
                failed.append(item)
            }
        }
        fix(path)
        if let walker = FileManager.default.enumerator(atPath: path) {
            while let relative = walker.nextObject() as? String { fix(path + "/" + relative) }
        }
        return failed
    }

    /// The group of the repository's folder (git's `--shared` makes it the repository's group).
    public static func group(of gitDirectory: String) -> gid_t? {
        var info = stat()
        return stat(gitDirectory, &info) == 0 ? info.st_gid : nil
    }
}
