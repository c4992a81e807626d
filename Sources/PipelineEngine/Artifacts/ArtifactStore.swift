import Foundation
import Git
import PipelineModel

/// Artifacts as plain zips, content addressed: `artifacts/sha256/<digest>.zip`. The SourceArtifact of
/// a tree is remembered in `artifacts/trees/<tree id>`, so a tree already zipped is never zipped
/// again (per commit when `export-subst` makes the bytes depend on it).
public struct ArtifactStore: Sendable {
    public let layout: StateLayout

    public init(layout: StateLayout) { self.layout = layout }

    public func path(ofDigest digest: String) -> String { layout.artifacts + "/sha256/\(digest).zip" }

    /// The stored zip of `digest`, opened only once its bytes hash to that digest: an action could
    /// have reached the file and changed it, and nothing read from it is trusted before that.
    func verifiedZip(_ digest: String) throws -> ZipReader {
        let path = path(ofDigest: digest)
        guard let actual = Self.digest(ofFile: path) else { throw ZipError(path: path, message: "the stored artifact is missing") }
        guard actual == digest else {
            throw ZipError(path: path, message: "the stored artifact was changed (its sha256 is \(actual.prefix(12)), not \(digest.prefix(12))); it is not used")
        }
        return try ZipReader(path: path)
    }

    /// The SHA-256 of a file's bytes, or nil when it cannot be read.
    static func digest(ofFile path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var hash = SHA256()
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty { hash.update(Array(chunk)) }
        return hash.finalizeHex()
    }

    private func temporaryPath() -> String { layout.artifacts + "/tmp/\(UUID().uuidString).zip" }

    /// The digest of the SourceArtifact of `commit` (whose tree is `tree`) as the tree index
    /// remembers it (nil: never zipped). The index lives in the state folder, which no action
    /// reaches. It is keyed by the tree, and by the repository's export profile when that is not
    /// git's default; a tree with an `export-subst` file is remembered per commit (its index
    /// entry says so).
    func sourceDigest(ofCommit commit: ObjectID, tree: ObjectID, profile: ExportProfile) -> String? {
        let key = treeKey(tree, profile: profile)
        guard let text = (try? String(contentsOfFile: treeIndex(key), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
        guard text == Self.perCommit else { return text }
        return (try? String(contentsOfFile: treeIndex(key + "-" + commit.hex), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let perCommit = "per-commit"

    private func treeKey(_ tree: ObjectID, profile: ExportProfile) -> String {
        guard let fingerprint = profile.fingerprint else { return tree.hex }
        var hash = SHA256()
        hash.update(Array(fingerprint.utf8))
        return tree.hex + "-" + hash.finalizeHex().prefix(16)
    }

    /// Where the tree index keeps a digest.
    private func treeIndex(_ key: String) -> String { layout.artifacts + "/trees/\(key)" }

    /// The SourceArtifact of `commit`: its digest and size, zipping it only the first time.
    public func sourceArtifact(commit: ObjectID, tree: ObjectID, log: (String) -> Void) throws -> (digest: String, size: Int64, reused: Bool) {
        let profile = try Repository(path: layout.gitDirectory).exportProfile()
        if let digest = sourceDigest(ofCommit: commit, tree: tree, profile: profile),
           let size = fileSize(path(ofDigest: digest)), Self.digest(ofFile: path(ofDigest: digest)) == digest {
            return (digest, size, true)
        }
        let temporary = temporaryPath()
        defer { unlink(temporary); MemoryLimits.release() }
        let written = try SourceArchiver(gitDirectory: layout.gitDirectory).write(commit: commit, to: temporary, log: log)
        let size = try keep(temporary, digest: written.digest)
        let key = treeKey(tree, profile: profile)
        if written.dependsOnCommit {
            try writeAtomically(treeIndex(key + "-" + commit.hex), written.digest + "\n")
            try writeAtomically(treeIndex(key), Self.perCommit + "\n")
        } else {
            try writeAtomically(treeIndex(key), written.digest + "\n")
        }
        return (written.digest, size, false)
    }

    /// Zips files of `folder` matching `globs` (nil: everything) and none of `excludes` into the
    /// store; with `discardPaths` each file goes in under its name alone (buildspec discard-paths).
    public func storeFolder(_ folder: String, globs: [String]?, excludes: [String] = [],
                            discardPaths: Bool = false) throws -> (digest: String, size: Int64, files: Int) {
        func glob(_ pattern: String) -> Glob { Glob(pattern.hasPrefix("./") ? String(pattern.dropFirst(2)) : pattern) }
        let matchers = globs?.map(glob)
        let excluded = excludes.map(glob)
        var paths: [String] = []
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: folder) else { throw ZipError(path: folder, message: "cannot read the workspace") }
        while let relative = walker.nextObject() as? String {
            let full = folder + "/" + relative
            var info = stat()
            guard lstat(full, &info) == 0 else { continue }
            let type = info.st_mode & S_IFMT
            guard type == S_IFREG || type == S_IFLNK else { continue }
            if let matchers, !matchers.contains(where: { $0.matches(relative) }) { continue }
            if excluded.contains(where: { $0.matches(relative) }) { continue }
            paths.append(relative)
        }
        paths.sort()
        var names: [String: String] = [:]  // name in the zip → path in the folder
        for relative in paths {
            let name = discardPaths ? (relative as NSString).lastPathComponent : relative
            if names[name] == nil { names[name] = relative }
        }
        let temporary = temporaryPath()
        defer { unlink(temporary); MemoryLimits.release(afterFiles: names.count) }
        let writer = try ZipWriter(path: temporary)
        for (name, relative) in names.sorted(by: { $0.key < $1.key }) {
            let full = folder + "/" + relative
            var info = stat()
            lstat(full, &info)
            if info.st_mode & S_IFMT == S_IFLNK {
                let target = try fm.destinationOfSymbolicLink(atPath: full)
                try Array(target.utf8).withUnsafeBytes { try writer.add(.file(path: name, mode: 0o120777, bytes: $0)) }
            } else {
                guard let data = fm.contents(atPath: full) else { throw ZipError(path: full, message: "cannot read") }
                let mode: UInt32 = info.st_mode & 0o111 != 0 ? 0o100755 : 0o100644
                try data.withUnsafeBytes { try writer.add(.file(path: name, mode: mode, bytes: $0)) }
            }
        }
        let digest = try writer.finish()
        let size = try keep(temporary, digest: digest)
        return (digest, size, names.count)
    }

    /// Moves a finished zip to its content address (an identical one may already be there).
    private func keep(_ temporary: String, digest: String) throws -> Int64 {
        let destination = path(ofDigest: digest)
        // A file already there is kept only if it is what its name says (it may have been changed).
        if fileSize(destination) == nil || Self.digest(ofFile: destination) != digest {
            guard rename(temporary, destination) == 0 else {
                throw ZipError(path: destination, message: "cannot store artifact: \(String(cString: strerror(errno)))")
            }
        }
        return fileSize(destination) ?? 0
    }

    private func fileSize(_ path: String) -> Int64? {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : nil
    }
}

/// Writes a small file so that readers see the old or the new content, never half of it.
func writeAtomically(_ path: String, _ text: String) throws {
    // Unique per call: two actions of one runner (two pipelines' Source of the same tree) write the
    // same index at once, and a temporary named by the pid alone was renamed away under the other.
    let temporary = path + ".tmp.\(getpid()).\(UUID().uuidString.prefix(8))"
    try text.write(toFile: temporary, atomically: false, encoding: .utf8)
    guard rename(temporary, path) == 0 else {
        unlink(temporary)
        throw ZipError(path: path, message: "cannot write: \(String(cString: strerror(errno)))")
    }
}
