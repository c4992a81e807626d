import CGit2

/// An open repository. Owns its libgit2 handle; not shared across tasks or threads (libgit2's rule
/// for repository handles): each thread opens its own.
public final class Repository {
    let handle: OpaquePointer

    /// Opens the repository at `path` (a bare repository's folder, or a work tree).
    public init(path: String) throws {
        ensureInitialised()
        var out: OpaquePointer?
        try check(git_repository_open(&out, path), operation: "open repository \(path)")
        handle = out!
    }

    init(owning handle: OpaquePointer) { self.handle = handle }

    deinit { git_repository_free(handle) }

    /// The git directory, without a trailing slash.
    public var gitDirectory: String {
        var path = String(cString: git_repository_path(handle))
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path
    }

    public var isBare: Bool { git_repository_is_bare(handle) == 1 }

    // MARK: References and revisions

    /// The object a reference points at (symbolic references are followed); nil when it does not exist.
    public func referenceTarget(_ name: String) throws -> ObjectID? {
        var oid = git_oid()
        let code = git_reference_name_to_id(&oid, handle, name)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, operation: "resolve reference \(name)")
        return ObjectID(oid)
    }

    /// Resolves any revision expression (`main`, `HEAD~2`, `v1.0`, a short id) to the commit it names.
    public func resolveCommit(_ spec: String) throws -> ObjectID {
        ensureInitialised()
        var object: OpaquePointer?
        try check(git_revparse_single(&object, handle, spec), operation: "resolve revision '\(spec)'")
        defer { git_object_free(object) }
        var commit: OpaquePointer?
        try check(git_object_peel(&commit, object, GIT_OBJECT_COMMIT), operation: "peel '\(spec)' to a commit")
        defer { git_object_free(commit) }
        return ObjectID(git_object_id(commit).pointee)
    }

    /// Peels an object (a commit, or an annotated tag, possibly nested) to the commit it names.
    public func peelToCommit(_ id: ObjectID) throws -> ObjectID {
        var oid = id.raw
        var object: OpaquePointer?
        try check(git_object_lookup(&object, handle, &oid, GIT_OBJECT_ANY), operation: "look up \(id)")
        defer { git_object_free(object) }
        var commit: OpaquePointer?
        try check(git_object_peel(&commit, object, GIT_OBJECT_COMMIT), operation: "peel \(id) to a commit")
        defer { git_object_free(commit) }
        return ObjectID(git_object_id(commit).pointee)
    }

    /// Points `name` at `target` only if it still points at `expected` (nil: only if it does not exist).
    /// Returns false when another writer moved it first, so the caller can re-read and retry.
    /// The check happens while holding the ref's lock (a libgit2 transaction), so two writers can
    /// never both succeed from the same starting point; plain `git_reference_create` without force
    /// checks existence before it locks, which lets a racing creator overwrite the other.
    public func compareAndSwapReference(_ name: String, to target: ObjectID, expected: ObjectID?, message: String) throws -> Bool {
        var transaction: OpaquePointer?
        try check(git_transaction_new(&transaction, handle), operation: "start a transaction on \(name)")
        defer { git_transaction_free(transaction) }
        let locked = git_transaction_lock_ref(transaction, name)
        if locked == GIT_ELOCKED.rawValue || locked == GIT_EMODIFIED.rawValue { return false }
        try check(locked, operation: "lock \(name)")
        guard try referenceTarget(name) == expected else { return false }
        var newID = target.raw
        try check(git_transaction_set_target(transaction, name, &newID, nil, message), operation: "set \(name)")
        let committed = git_transaction_commit(transaction)
        if committed == GIT_ELOCKED.rawValue || committed == GIT_EMODIFIED.rawValue { return false }
        try check(committed, operation: "update reference \(name)")
        return true
    }

    // MARK: Objects

    /// The commit's metadata.
    public func commit(_ id: ObjectID) throws -> Commit {
        var oid = id.raw
        var commit: OpaquePointer?
        try check(git_commit_lookup(&commit, handle, &oid), operation: "look up commit \(id)")
        defer { git_commit_free(commit) }
        let author = git_commit_author(commit)!.pointee
        let committer = git_commit_committer(commit)!.pointee
        var parents: [ObjectID] = []
        for index in 0..<git_commit_parentcount(commit) {
            parents.append(ObjectID(git_commit_parent_id(commit, index).pointee))
        }
        return Commit(
            id: id,
            tree: ObjectID(git_commit_tree_id(commit).pointee),
            parents: parents,
            message: git_commit_message(commit).map { String(cString: $0) } ?? "",
            author: Signature(author),
            committer: Signature(committer))
    }

    /// The entries of a tree, in git's order.
    public func treeEntries(_ id: ObjectID) throws -> [TreeEntry] {
        var oid = id.raw
        var tree: OpaquePointer?
        try check(git_tree_lookup(&tree, handle, &oid), operation: "look up tree \(id)")
        defer { git_tree_free(tree) }
        let count = git_tree_entrycount(tree)
        var entries: [TreeEntry] = []
        entries.reserveCapacity(count)
        for index in 0..<count {
            let entry = git_tree_entry_byindex(tree, index)
            entries.append(TreeEntry(
                name: String(cString: git_tree_entry_name(entry)),
                id: ObjectID(git_tree_entry_id(entry).pointee),
                mode: UInt32(git_tree_entry_filemode(entry).rawValue)))
        }
        return entries
    }

    /// The entry at a slash-separated path inside a tree, or nil.
    public func treeEntry(in treeID: ObjectID, path: String) throws -> TreeEntry? {
        var oid = treeID.raw
        var tree: OpaquePointer?
        try check(git_tree_lookup(&tree, handle, &oid), operation: "look up tree \(treeID)")
        defer { git_tree_free(tree) }
        var entry: OpaquePointer?
        let code = git_tree_entry_bypath(&entry, tree, path)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, operation: "look up \(path) in tree \(treeID)")
        defer { git_tree_entry_free(entry) }
        return TreeEntry(
            name: String(cString: git_tree_entry_name(entry)),
            id: ObjectID(git_tree_entry_id(entry).pointee),
            mode: UInt32(git_tree_entry_filemode(entry).rawValue))
    }

    /// A blob's bytes.
    public func blob(_ id: ObjectID) throws -> [UInt8] {
        try withBlob(id) { Array($0) }
    }

    /// Lends a blob's bytes to `body` without copying them; the buffer is valid only inside it.
    public func withBlob<T>(_ id: ObjectID, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        var oid = id.raw
        var blob: OpaquePointer?
        try check(git_blob_lookup(&blob, handle, &oid), operation: "look up blob \(id)")
        defer { git_blob_free(blob) }
        let size = Int(git_blob_rawsize(blob))
        return try body(UnsafeRawBufferPointer(start: git_blob_rawcontent(blob), count: size))
    }

    /// Writes a blob and returns its id.
    public func createBlob(_ bytes: [UInt8]) throws -> ObjectID {
        var oid = git_oid()
        _ = try bytes.withUnsafeBytes { buffer in
            try check(git_blob_create_from_buffer(&oid, handle, buffer.baseAddress, buffer.count), operation: "write blob")
        }
        return ObjectID(oid)
    }

    /// Writes a tree made from `base` (or empty) with the given entries set (id) or removed (nil).
    public func writeTree(base: ObjectID?, changes: [(name: String, entry: (id: ObjectID, mode: UInt32)?)]) throws -> ObjectID {
        var builder: OpaquePointer?
        if let base {
            var oid = base.raw
            var tree: OpaquePointer?
            try check(git_tree_lookup(&tree, handle, &oid), operation: "look up tree \(base)")
            defer { git_tree_free(tree) }
            try check(git_treebuilder_new(&builder, handle, tree), operation: "start tree from \(base)")
        } else {
            try check(git_treebuilder_new(&builder, handle, nil), operation: "start tree")
        }
        defer { git_treebuilder_free(builder) }
        for change in changes {
            if let entry = change.entry {
                var oid = entry.id.raw
                try check(git_treebuilder_insert(nil, builder, change.name, &oid, git_filemode_t(rawValue: entry.mode)),
                          operation: "add \(change.name) to tree")
            } else if git_treebuilder_get(builder, change.name) != nil {
                try check(git_treebuilder_remove(builder, change.name), operation: "remove \(change.name) from tree")
            }
        }
        var out = git_oid()
        try check(git_treebuilder_write(&out, builder), operation: "write tree")
        return ObjectID(out)
    }

    /// Writes a commit (without moving any reference) and returns its id.
    public func createCommit(tree: ObjectID, parents: [ObjectID], message: String, author: Signature) throws -> ObjectID {
        var treeOID = tree.raw
        var treeObject: OpaquePointer?
        try check(git_tree_lookup(&treeObject, handle, &treeOID), operation: "look up tree \(tree)")
        defer { git_tree_free(treeObject) }
        var parentObjects: [OpaquePointer?] = []
        defer { parentObjects.forEach { git_commit_free($0) } }
        for parent in parents {
            var oid = parent.raw
            var commit: OpaquePointer?
            try check(git_commit_lookup(&commit, handle, &oid), operation: "look up commit \(parent)")
            parentObjects.append(commit)
        }
        var signature: UnsafeMutablePointer<git_signature>?
        try check(git_signature_new(&signature, author.name, author.email, author.time, Int32(author.offsetMinutes)),
                  operation: "make signature")
        defer { git_signature_free(signature) }
        var out = git_oid()
        _ = try parentObjects.withUnsafeMutableBufferPointer { buffer in
            try check(git_commit_create(&out, handle, nil, signature, signature, nil, message, treeObject, parents.count, buffer.baseAddress),
                      operation: "write commit")
        }
        return ObjectID(out)
    }

    // MARK: Config

    /// A string from the repository's configuration (with global and system), or nil when unset.
    public func configString(_ name: String) throws -> String? { try configSnapshot().string(name) }

    /// The config as it is now (every level), read once: as many settings as needed from it, without
    /// stating every config file again for each (what `configString` does, one snapshot each).
    public func configSnapshot() throws -> ConfigSnapshot {
        var config: OpaquePointer?
        try check(git_repository_config_snapshot(&config, handle), operation: "read config")
        return ConfigSnapshot(handle: config!)
    }

    /// The repository's own config file (not the global or system ones), for a change.
    @discardableResult
    private func withLocalConfig<T>(_ body: (OpaquePointer?) throws -> T) throws -> T {
        var config: OpaquePointer?
        try check(git_repository_config(&config, handle), operation: "open config")
        defer { git_config_free(config) }
        var local: OpaquePointer?
        try check(git_config_open_level(&local, config, GIT_CONFIG_LEVEL_LOCAL), operation: "open local config")
        defer { git_config_free(local) }
        return try body(local)
    }

    /// Sets a string in the repository's own config file.
    public func setConfig(_ name: String, _ value: String) throws {
        try withLocalConfig { try check(git_config_set_string($0, name, value), operation: "set config \(name)") }
    }

    /// Adds `value` to a multi-valued variable of the repository's own config file, unless it is
    /// there already (`git config --add`, once).
    public func addConfigValue(_ name: String, _ value: String) throws {
        // The regular expression matches the value itself only: replaced by itself when there, added when not.
        let special = Set("\\^$.|?*+()[]{}")
        let pattern = "^" + value.map { special.contains($0) ? "\\\($0)" : String($0) }.joined() + "$"
        try withLocalConfig { try check(git_config_set_multivar($0, name, pattern, value), operation: "add config \(name)") }
    }

    /// Removes a variable from the repository's own config file (no error when absent).
    public func unsetConfig(_ name: String) throws {
        try withLocalConfig { local in
            let code = git_config_delete_entry(local, name)
            if code == GIT_ENOTFOUND.rawValue { return }
            try check(code, operation: "unset config \(name)")
        }
    }

    /// The default signature from config (user.name/user.email), or `fallback` when unset.
    public func defaultSignature(fallback: Signature) -> Signature {
        var signature: UnsafeMutablePointer<git_signature>?
        guard git_signature_default(&signature, handle) == 0, let signature else { return fallback }
        defer { git_signature_free(signature) }
        return Signature(signature.pointee)
    }
}

/// A commit's metadata.
public struct Commit: Sendable {
    public let id: ObjectID
    public let tree: ObjectID
    public let parents: [ObjectID]
    public let message: String
    public let author: Signature
    public let committer: Signature

    /// The first line of the message.
    public var summary: String { String(message.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "") }
}

/// Who and when, as git records it.
public struct Signature: Sendable {
    public let name: String
    public let email: String
    /// Seconds since 1970.
    public let time: Int64
    public let offsetMinutes: Int

    public init(name: String, email: String, time: Int64, offsetMinutes: Int = 0) {
        self.name = name
        self.email = email
        self.time = time
        self.offsetMinutes = offsetMinutes
    }

    init(_ signature: git_signature) {
        name = String(cString: signature.name)
        email = String(cString: signature.email)
        time = signature.when.time
        offsetMinutes = Int(signature.when.offset)
    }
}

/// One entry of a tree.
public struct TreeEntry: Sendable {
    public let name: String
    public let id: ObjectID
    /// git's file mode: 0o100644, 0o100755, 0o120000 (symlink), 0o040000 (tree), 0o160000 (submodule).
    public let mode: UInt32

    public init(name: String, id: ObjectID, mode: UInt32) {
        self.name = name
        self.id = id
        self.mode = mode
    }

    public var isTree: Bool { mode == 0o040000 }
    public var isSubmodule: Bool { mode == 0o160000 }
    public var isSymlink: Bool { mode == 0o120000 }
    public var isExecutable: Bool { mode == 0o100755 }

    public static let treeMode: UInt32 = 0o040000
    public static let blobMode: UInt32 = 0o100644
}

extension Repository {
    /// Finds the repository containing `path` (walking up as git does); a bare repository's own
    /// folder, or any folder of a work tree.
    public static func discover(from path: String) throws -> Repository {
        ensureInitialised()
        var out: OpaquePointer?
        try check(git_repository_open_ext(&out, path, 0, nil), operation: "find a git repository at \(path)")
        return Repository(handle: out!)
    }

    convenience init(handle: OpaquePointer) {
        self.init(owning: handle)
    }
}

/// A read-only snapshot of a repository's config (`Repository.configSnapshot`).
public final class ConfigSnapshot {
    private let handle: OpaquePointer

    init(handle: OpaquePointer) { self.handle = handle }

    deinit { git_config_free(handle) }

    /// Every entry whose name matches `pattern` (a regular expression, as `git config
    /// --get-regexp`), in the order git reads them; names lower-cased but for subsections.
    public func entries(matching pattern: String) throws -> [(name: String, value: String)] {
        final class Found { var entries: [(name: String, value: String)] = [] }
        let found = Found()
        let code = withExtendedLifetime(found) {
            git_config_foreach_match(handle, pattern, { entry, payload in
                let found = Unmanaged<Found>.fromOpaque(payload!).takeUnretainedValue()
                if let entry, let name = entry.pointee.name {
                    found.entries.append((String(cString: name), entry.pointee.value.map { String(cString: $0) } ?? ""))
                }
                return 0
            }, Unmanaged.passUnretained(found).toOpaque())
        }
        try check(code, operation: "read config \(pattern)")
        return found.entries
    }

    /// A setting's value, nil when it is not set.
    public func string(_ name: String) throws -> String? {
        var value: UnsafePointer<CChar>?
        let code = git_config_get_string(&value, handle, name)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, operation: "read config \(name)")
        return value.map { String(cString: $0) }
    }
}
