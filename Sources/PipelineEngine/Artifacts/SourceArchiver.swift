import Dispatch
import Foundation
import Git

/// Writes the SourceArtifact: a zip of a commit's tree with the file list, modes and contents of
/// `git archive --format=zip` (`.gitattributes` included), fixed timestamps, and deflate spread over the machine's cores.
/// Workers read and deflate blobs, each taking the next entry as it finishes one, while the calling
/// thread writes and hashes the finished ones in order: nobody waits for a batch's slowest file.
/// Memory stays bounded: at most `window` entries are ahead of the writer, and only the central
/// directory stays.
public struct SourceArchiver {
    public let gitDirectory: String
    /// Entries compressed ahead of the one being written; bounds the memory held at once to about
    /// this many compressed blobs (and one blob per worker).
    var window = 64

    public init(gitDirectory: String) { self.gitDirectory = gitDirectory }

    struct Item {
        var path: String
        var id: ObjectID
        var mode: UInt32
        var rule: ExportRule = .identity
    }

    /// What a zip of a commit depends on: its tree, the repository's export profile, and the
    /// commit itself when a file has `export-subst`.
    public struct Written {
        public let digest: String
        public let dependsOnCommit: Bool
    }

    /// Writes the zip of `commit`'s tree to `path` as `git archive --format=zip` lays it out:
    /// `.gitattributes` export-ignore, export-subst and end-of-line conversions applied, an empty
    /// folder for each submodule (`log` hears of them).
    public func write(commit id: ObjectID, to path: String, log: (String) -> Void = { _ in }) throws -> Written {
        MemoryLimits.apply()
        let repository = try Repository(path: gitDirectory)
        let commit = try repository.commit(id)
        let profile = try repository.exportProfile()
        var items: [Item] = []
        var substitutes = false
        try repository.exportWalk(tree: commit.tree, profile: profile) { path, entry, rule in
            if entry.isSubmodule {
                log("submodule \(path) (\(entry.id.short)) is an empty folder, as in git archive: submodules are not part of the SourceArtifact")
                items.append(Item(path: path + "/", id: entry.id, mode: TreeEntry.treeMode))
                return false
            }
            substitutes = substitutes || rule.substitute
            items.append(Item(path: entry.isTree ? path + "/" : path, id: entry.id, mode: entry.mode, rule: rule))
            return true
        }
        let format = substitutes ? CommitFormat(commit: commit, abbreviated: try repository.abbreviations(of: [commit.id, commit.tree] + commit.parents, settings: profile.settings)) : nil
        let writer = try ZipWriter(path: path)
        try ArchiveLine(gitDirectory: gitDirectory, items: items, window: window, format: format).run { try writer.add($0) }
        return Written(digest: try writer.finish(), dependsOnCommit: substitutes)
    }

    /// `git pipeline archive`: the SourceArtifact of `revision` written to `output` (nil: standard
    /// output), byte for byte what the Source action stores. Returns its SHA-256.
    public func archive(revision: String, output: String?, log: (String) -> Void) throws -> String {
        MemoryLimits.apply()
        let repository = try Repository(path: gitDirectory)
        let commit: ObjectID
        do { commit = try repository.resolveCommit(revision) } catch let error as GitError where error.isNotFound {
            throw OperationError(message: "no branch, tag or commit is called that here (any revision git accepts works: main~1, v1.0, a commit id)", isUsage: true)
        }
        guard output == nil else { return try write(commit: commit, to: output!, log: log).digest }
        let temporary = NSTemporaryDirectory() + "/git-pipeline-archive-\(getpid()).zip"
        defer { unlink(temporary) }
        let digest = try write(commit: commit, to: temporary, log: log).digest
        guard let input = FileHandle(forReadingAtPath: temporary) else { throw ZipError(path: temporary, message: "cannot read") }
        defer { try? input.close() }
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { FileHandle.standardOutput.write(chunk) }
        return digest
    }

    static func entry(for item: Item, repository: Repository, deflater: Deflater, format: CommitFormat?) throws -> PreparedZipEntry {
        if item.mode == TreeEntry.treeMode { return .directory(path: item.path) }
        // git records only 644, 755 and symlinks; that is what the zip carries.
        let mode: UInt32 = item.mode == 0o120000 ? 0o120777 : (item.mode == 0o100755 ? 0o100755 : 0o100644)
        return try repository.withBlob(item.id) { bytes in
            guard !item.rule.isIdentity, let converted = item.rule.apply(bytes, format: format) else {
                return PreparedZipEntry.file(path: item.path, mode: mode, bytes: bytes, deflater: deflater)
            }
            return converted.withUnsafeBytes { PreparedZipEntry.file(path: item.path, mode: mode, bytes: $0, deflater: deflater) }
        }
    }
}

/// The workers and the in-order hand-over of their entries to the writer. `@unchecked Sendable`:
/// the slots and counters are touched only under `condition`, worker w uses only
/// repositories[w] and deflaters[w] (libgit2 handles and zlib streams are never shared), and
/// `run` returns only once every worker has ended.
private final class ArchiveLine: @unchecked Sendable {
    let items: [SourceArchiver.Item]
    let window: Int
    let repositories: [Repository]
    let deflaters: [Deflater]
    let format: CommitFormat?
    let condition = NSCondition()
    var slots: [PreparedZipEntry?]
    var claimed = 0, written = 0, running = 0
    var failure: (any Error)?

    init(gitDirectory: String, items: [SourceArchiver.Item], window: Int, format: CommitFormat?) throws {
        self.items = items
        self.format = format
        self.window = max(1, window)
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8, items.count))
        // One repository handle per worker: libgit2 handles are never used by two threads at once.
        repositories = try (0..<workers).map { _ in try Repository(path: gitDirectory) }
        deflaters = (0..<workers).map { _ in Deflater() }
        slots = Array(repeating: nil, count: self.window)
    }

    /// Hands every entry, in order, to `write` on the calling thread.
    func run(_ write: (PreparedZipEntry) throws -> Void) throws {
        running = repositories.count
        for worker in 0..<repositories.count {
            let thread = Thread { [self] in work(worker) }
            thread.name = "archive-\(worker)"
            thread.start()
        }
        defer {
            condition.lock()
            if failure == nil && written < items.count { failure = CancellationError() }
            condition.broadcast()
            while running > 0 { condition.wait() }
            condition.unlock()
        }
        for index in 0..<items.count {
            condition.lock()
            while slots[index % window] == nil && failure == nil { condition.wait() }
            if let failure {
                condition.unlock()
                throw failure
            }
            let entry = slots[index % window]!
            slots[index % window] = nil
            written = index + 1
            condition.broadcast()
            condition.unlock()
            try write(entry)
        }
    }

    private func work(_ worker: Int) {
        while true {
            condition.lock()
            while claimed < items.count && claimed >= written + window && failure == nil { condition.wait() }
            guard claimed < items.count, failure == nil else {
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let index = claimed
            claimed += 1
            condition.unlock()
            let result = Result { try SourceArchiver.entry(for: items[index], repository: repositories[worker], deflater: deflaters[worker], format: format) }
            condition.lock()
            switch result {
            case .success(let entry): slots[index % window] = entry
            case .failure(let error): if failure == nil { failure = error }
            }
            condition.broadcast()
            condition.unlock()
        }
    }
}
