import Dispatch
import Foundation
import Git

/// Writes the SourceArtifact: a zip of a commit's tree with the file list, modes and contents of
/// `git archive --format=zip`, fixed timestamps, and deflate spread over the machine's cores.
/// Memory stays bounded: entries go out in small batches, and only the central directory stays.
public struct SourceArchiver {
    public let gitDirectory: String
    /// Entries compressed per batch; bounds the memory held at once to about this many blobs.
    var batchSize = 32

    public init(gitDirectory: String) { self.gitDirectory = gitDirectory }

    struct Item {
        var path: String
        var id: ObjectID
        var mode: UInt32
    }

    /// Writes the zip of `tree` to `path`; returns its SHA-256. `log` hears of skipped submodules.
    /// Caps libgit2's memory before the first pack window opens: a window mapped with the default
    /// size (1 GiB) covers a whole pack and stays resident.
    static func limitLibgit2Memory() {
        Repository.limitMemory(mappedPackBytes: 4 << 20, windowBytes: 1 << 20, cacheBytes: 1 << 20)
    }

    public func write(tree: ObjectID, to path: String, log: (String) -> Void = { _ in }) throws -> String {
        Self.limitLibgit2Memory()
        let repository = try Repository(path: gitDirectory)
        var items: [Item] = []
        try repository.walk(tree: tree) { path, entry in
            if entry.isSubmodule {
                log("skipped submodule \(path) (\(entry.id.short)): submodules are not part of the SourceArtifact")
                return false
            }
            items.append(Item(path: entry.isTree ? path + "/" : path, id: entry.id, mode: entry.mode))
            return true
        }
        let writer = try ZipWriter(path: path)
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
        // One repository handle per worker: libgit2 handles are never used by two threads at once.
        let repositories = try (0..<workers).map { _ in try Repository(path: gitDirectory) }
        let deflaters = (0..<workers).map { _ in Deflater() }
        var start = 0
        while start < items.count {
            let batch = Array(items[start..<min(start + batchSize, items.count)])
            let prepared = try prepare(batch, repositories: repositories, deflaters: deflaters)
            for entry in prepared { try writer.add(entry) }
            start += batch.count
        }
        return try writer.finish()
    }

    /// `git pipeline archive`: the SourceArtifact of `revision` written to `output` (nil: standard
    /// output), byte for byte what the Source action stores. Returns its SHA-256.
    public func archive(revision: String, output: String?, log: (String) -> Void) throws -> String {
        Self.limitLibgit2Memory()
        let repository = try Repository(path: gitDirectory)
        let tree = try repository.commit(try repository.resolveCommit(revision)).tree
        guard output == nil else { return try write(tree: tree, to: output!, log: log) }
        let temporary = NSTemporaryDirectory() + "/git-pipeline-archive-\(getpid()).zip"
        defer { unlink(temporary) }
        let digest = try write(tree: tree, to: temporary, log: log)
        guard let input = FileHandle(forReadingAtPath: temporary) else { throw ZipError(path: temporary, message: "cannot read") }
        defer { try? input.close() }
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { FileHandle.standardOutput.write(chunk) }
        return digest
    }

    private func prepare(_ batch: [Item], repositories: [Repository], deflaters: [Deflater]) throws -> [PreparedZipEntry] {
        var results = [PreparedZipEntry?](repeating: nil, count: batch.count)
        var failures = [(any Error)?](repeating: nil, count: repositories.count)
        results.withUnsafeMutableBufferPointer { out in
            failures.withUnsafeMutableBufferPointer { errors in
                let work = Workers(batch: batch, repositories: repositories, deflaters: deflaters, out: out, errors: errors)
                DispatchQueue.concurrentPerform(iterations: repositories.count) { worker in work.run(worker) }
            }
        }
        if let failure = failures.compactMap({ $0 }).first { throw failure }
        return results.map { $0! }
    }

    /// One batch shared by the deflating workers. `@unchecked Sendable` because no two workers touch
    /// the same thing: worker w uses only repositories[w] and deflaters[w] (libgit2 handles and zlib
    /// streams are never shared), writes only out[i] for i ≡ w (mod workers) and errors[w], and
    /// concurrentPerform returns only once every worker has finished.
    private struct Workers: @unchecked Sendable {
        let batch: [Item]
        let repositories: [Repository]
        let deflaters: [Deflater]
        let out: UnsafeMutableBufferPointer<PreparedZipEntry?>
        let errors: UnsafeMutableBufferPointer<(any Error)?>

        func run(_ worker: Int) {
            var index = worker
            while index < batch.count {
                do {
                    out[index] = try SourceArchiver.entry(for: batch[index], repository: repositories[worker], deflater: deflaters[worker])
                } catch {
                    errors[worker] = error
                    return
                }
                index += repositories.count
            }
        }
    }

    fileprivate static func entry(for item: Item, repository: Repository, deflater: Deflater) throws -> PreparedZipEntry {
        if item.mode == TreeEntry.treeMode { return .directory(path: item.path) }
        // git records only 644, 755 and symlinks; that is what the zip carries.
        let mode: UInt32 = item.mode == 0o120000 ? 0o120777 : (item.mode == 0o100755 ? 0o100755 : 0o100644)
        return try repository.withBlob(item.id) { PreparedZipEntry.file(path: item.path, mode: mode, bytes: $0, deflater: deflater) }
    }
}
