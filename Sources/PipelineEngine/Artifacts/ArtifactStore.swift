import Foundation
import Git
import PipelineModel

/// Artifacts as plain zips, content addressed: `artifacts/sha256/<digest>.zip`. The SourceArtifact of
/// a tree is remembered in `artifacts/trees/<tree id>`, so a tree already zipped is never zipped again.
public struct ArtifactStore: Sendable {
    public let layout: StateLayout

    public init(layout: StateLayout) { self.layout = layout }

    public func path(ofDigest digest: String) -> String { layout.artifacts + "/sha256/\(digest).zip" }

    private func temporaryPath() -> String { layout.artifacts + "/tmp/\(UUID().uuidString).zip" }

    /// The SourceArtifact of `tree`: its digest and size, zipping it only the first time.
    public func sourceArtifact(tree: ObjectID, log: (String) -> Void) throws -> (digest: String, size: Int64, reused: Bool) {
        let index = layout.artifacts + "/trees/\(tree.hex)"
        if let digest = try? String(contentsOfFile: index, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
           let size = fileSize(path(ofDigest: digest)) {
            return (digest, size, true)
        }
        let temporary = temporaryPath()
        defer { unlink(temporary) }
        let digest = try SourceArchiver(gitDirectory: layout.gitDirectory).write(tree: tree, to: temporary, log: log)
        let size = try keep(temporary, digest: digest)
        try writeAtomically(index, digest + "\n")
        return (digest, size, false)
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
        defer { unlink(temporary) }
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
        if fileSize(destination) == nil {
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
    let temporary = path + ".tmp.\(getpid())"
    try text.write(toFile: temporary, atomically: false, encoding: .utf8)
    guard rename(temporary, path) == 0 else {
        unlink(temporary)
        throw ZipError(path: path, message: "cannot write: \(String(cString: strerror(errno)))")
    }
}
