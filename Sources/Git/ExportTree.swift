import CGit2
import Foundation

/// What decides a commit's archive besides its tree: info/attributes and the end-of-line and
/// abbreviation settings of the repository (global and system attribute files are not read, so
/// that an archive depends on the repository alone).
public struct ExportProfile: Sendable {
    public let settings: ExportSettings
    public let info: AttributeFile?
    /// Folds the profile into a cache key: nil when it is git's default (nothing to add).
    public let fingerprint: String?

    public init(settings: ExportSettings, infoText: String?) {
        self.settings = settings
        let info = infoText.map { AttributeFile(text: $0, base: "", topLevel: true) }
        self.info = (info?.rules.isEmpty ?? true) && (info?.macros.isEmpty ?? true) ? nil : info
        var parts: [String] = []
        if settings.autocrlf != .off { parts.append("autocrlf=\(settings.autocrlf)") }
        if settings.eolIsCRLF { parts.append("eol=crlf") }
        if let abbrev = settings.abbrev { parts.append("abbrev=\(abbrev)") }
        if self.info != nil, let infoText { parts.append("info=" + infoText) }
        fingerprint = parts.isEmpty ? nil : parts.joined(separator: "\n")
    }
}

extension Repository {
    /// The repository's export profile (config and info/attributes).
    public func exportProfile() throws -> ExportProfile {
        let config = try configSnapshot()
        var settings = ExportSettings()
        switch try config.string("core.autocrlf")?.lowercased() {
        case "input": settings.autocrlf = .input
        case "true", "yes", "on", "1": settings.autocrlf = .on
        default: break
        }
        settings.eolIsCRLF = try config.string("core.eol")?.lowercased() == "crlf"
        if let abbrev = try config.string("core.abbrev")?.lowercased() {
            if abbrev == "no" { settings.abbrev = 40 } else if let length = Int(abbrev) { settings.abbrev = min(40, max(4, length)) }
        }
        let info = try? String(contentsOfFile: gitDirectory + "/info/attributes", encoding: .utf8)
        return ExportProfile(settings: settings, infoText: info)
    }

    /// Every entry of `tree` that `git archive` writes, depth first in git's order, with how its
    /// bytes leave: `export-ignore` entries (and a folder's contents) are left out, a folder's own
    /// `.gitattributes` (a file, not a link) applies below it. Returning false from `visit` skips
    /// a folder's contents.
    public func exportWalk(tree: ObjectID, profile: ExportProfile,
                           _ visit: (String, TreeEntry, ExportRule) throws -> Bool) throws {
        var stack = AttributeStack(info: profile.info)
        try exportWalk(tree: tree, prefix: "", stack: &stack, settings: profile.settings, visit)
    }

    private func exportWalk(tree: ObjectID, prefix: String, stack: inout AttributeStack, settings: ExportSettings,
                            _ visit: (String, TreeEntry, ExportRule) throws -> Bool) throws {
        let entries = try treeEntries(tree)
        var pushed = false
        if let file = entries.first(where: { $0.name == ".gitattributes" && ($0.mode == 0o100644 || $0.mode == 0o100755) }) {
            let text = String(decoding: try blob(file.id), as: UTF8.self)
            stack.push(AttributeFile(text: text, base: prefix, topLevel: prefix.isEmpty))
            pushed = true
        }
        defer { if pushed { stack.pop() } }
        let look = !stack.isEmpty
        for entry in entries {
            let path = prefix.isEmpty ? entry.name : prefix + "/" + entry.name
            var rule = ExportRule.identity
            let isFile = entry.mode == 0o100644 || entry.mode == 0o100755
            if look {
                let attributes = stack.attributes(of: path, isDirectory: entry.isTree || entry.isSubmodule, names: ExportSettings.attributeNames)
                if attributes["export-ignore"] == .set { continue }
                if isFile {
                    rule.substitute = attributes["export-subst"] == .set
                    rule.eol = settings.eolConversion(attributes)
                }
            } else if isFile && settings.convertsWithoutAttributes {
                rule.eol = settings.eolConversion([:])
            }
            let descend = try visit(path, entry, rule)
            if entry.isTree && descend {
                try exportWalk(tree: entry.id, prefix: path, stack: &stack, settings: settings, visit)
            }
        }
    }

    /// `%h`-style names for `ids`, as git abbreviates them: core.abbrev, or by default long enough
    /// for the number of packed objects (at least 7), and longer where that would be ambiguous.
    public func abbreviations(of ids: [ObjectID], settings: ExportSettings) throws -> [ObjectID: String] {
        var length = settings.abbrev ?? 0
        if settings.abbrev == nil {
            let count = packedObjectCount()
            let bits = count == 0 ? 1 : (UInt64.bitWidth - count.leadingZeroBitCount)
            length = max(7, (bits + 1) / 2)
        }
        var odb: OpaquePointer?
        try check(git_repository_odb(&odb, handle), operation: "open the object database")
        defer { git_odb_free(odb) }
        var result: [ObjectID: String] = [:]
        for id in ids {
            var size = length
            while size < 40 {
                var raw = id.raw, found = git_oid()
                if git_odb_exists_prefix(&found, odb, &raw, size) != GIT_EAMBIGUOUS.rawValue { break }
                size += 1
            }
            result[id] = String(id.hex.prefix(size))
        }
        return result
    }

    /// The objects in the repository's packs, from their index headers (git's approximate count).
    func packedObjectCount() -> UInt64 {
        let folder = gitDirectory + "/objects/pack"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return 0 }
        var total: UInt64 = 0
        for name in names where name.hasSuffix(".idx") {
            guard let handle = FileHandle(forReadingAtPath: folder + "/" + name) else { continue }
            defer { try? handle.close() }
            guard let head = try? handle.read(upToCount: 8 + 256 * 4), head.count == 8 + 256 * 4 else { continue }
            let bytes = [UInt8](head)
            // Version 2 starts with \377tOc and a version; version 1 with the fan-out table itself.
            let fanout = bytes[0] == 0xFF && bytes[1] == 0x74 && bytes[2] == 0x4F && bytes[3] == 0x63 ? 8 : 0
            let last = fanout + 255 * 4
            total += UInt64(bytes[last]) << 24 | UInt64(bytes[last + 1]) << 16 | UInt64(bytes[last + 2]) << 8 | UInt64(bytes[last + 3])
        }
        return total
    }
}
