import Dispatch
import Foundation
import Git
import Synchronization

/// Writes a commit's tree into a folder straight from the repository: what an action's workspace
/// gets for the SourceArtifact, without inflating the zip. The files are those of the zip (the
/// archiver and this walk read the same `.gitattributes`, make the same empty submodule folders
/// and keep the same modes), so the zip stays the
/// artifact of record while the workspace costs what `git archive | tar -x` costs. A workspace is
/// scratch: one open, write and close per file, no temporary, rename or fsync; blobs are read and
/// written by several workers, each with its own repository handle.
struct TreeCheckout {
    let gitDirectory: String

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private struct File {
        let path: String
        let id: ObjectID
        let executable: Bool
        let rule: ExportRule
    }

    /// Writes `commit`'s tree below `folder` (which exists) as the SourceArtifact holds it (the
    /// same `.gitattributes` walk and conversions, an empty folder per submodule); returns how many
    /// files and links it wrote. A tree may come from a push (untrusted): a name that is empty,
    /// `.`, `..` or holds a `/` or a NUL is refused, files are opened with O_NOFOLLOW and links are
    /// made last, so nothing is ever written outside `folder`. `opened`: a handle of the
    /// repository the caller has already (the walk and a small tree's files use it).
    func write(commit id: ObjectID, profile: ExportProfile, into folder: String, opened: Repository? = nil) throws -> Int {
        MemoryLimits.apply()
        let repository = try opened ?? Repository(path: gitDirectory)
        let commit = try repository.commit(id)
        let tree = commit.tree
        var files: [File] = [], links: [(path: String, id: ObjectID)] = []
        var substitutes = false
        try repository.exportWalk(tree: tree, profile: profile) { path, entry, rule in
            let name = entry.name
            guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.utf8.contains(0) else {
                throw Failure(description: "tree \(tree.short) holds an unsafe name `\(path)`; refused")
            }
            let target = folder + "/" + path
            if entry.isTree || entry.isSubmodule {
                guard mkdir(target, 0o777) == 0 || errno == EEXIST else { throw Self.failure("cannot create", target) }
                return entry.isTree
            }
            substitutes = substitutes || rule.substitute
            if entry.isSymlink { links.append((target, entry.id)) } else { files.append(File(path: target, id: entry.id, executable: entry.isExecutable, rule: rule)) }
            return true
        }
        let format = substitutes ? CommitFormat(commit: commit, abbreviated: try repository.abbreviations(of: [commit.id, commit.tree] + commit.parents, settings: profile.settings)) : nil
        if files.count < 256 {  // a small tree: more handles and threads would cost more than they save
            for file in files { try Self.writeFile(file, repository: repository, format: format) }
        } else {
            try writeFiles(files, format: format)
        }
        for link in links {
            let destination = String(decoding: try repository.blob(link.id), as: UTF8.self)
            guard symlink(destination, link.path) == 0 else { throw Self.failure("cannot create symlink", link.path) }
        }
        return files.count + links.count
    }

    /// The files, spread over workers that take the next file as they finish one (sizes vary).
    private func writeFiles(_ files: [File], format: CommitFormat?) throws {
        guard !files.isEmpty else { return }
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 4, files.count))
        let repositories = try (0..<workers).map { _ in try Repository(path: gitDirectory) }
        let next = Atomic<Int>(0)
        let failure = Mutex<(any Error)?>(nil)
        let job = Job(files: files, repositories: repositories, format: format)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            while failure.withLock({ $0 == nil }) {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < job.files.count else { return }
                do { try Self.writeFile(job.files[index], repository: job.repositories[worker], format: job.format) } catch {
                    failure.withLock { if $0 == nil { $0 = error } }
                    return
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// What the workers share. `@unchecked Sendable`: worker w uses repositories[w] alone (a libgit2
    /// handle is never used by two threads at once) and only reads `files`.
    private struct Job: @unchecked Sendable {
        let files: [File]
        let repositories: [Repository]
        let format: CommitFormat?
    }

    private static func writeFile(_ file: File, repository: Repository, format: CommitFormat?) throws {
        // As git checks out: executable or not, the rest as the umask says.
        let fd = open(file.path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, file.executable ? 0o777 : 0o666)
        guard fd >= 0 else { throw failure("cannot write", file.path) }
        defer { close(fd) }
        try repository.withBlob(file.id) { bytes in
            if !file.rule.isIdentity, let converted = file.rule.apply(bytes, format: format) {
                guard converted.withUnsafeBytes({ writeFully(fd, $0) }) else { throw failure("cannot write", file.path) }
                return
            }
            guard writeFully(fd, bytes) else { throw failure("cannot write", file.path) }
        }
    }

    private static func failure(_ what: String, _ path: String) -> Failure {
        Failure(description: "\(what) \(path): \(String(cString: strerror(errno)))")
    }
}
