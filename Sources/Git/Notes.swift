import CGit2
#if canImport(Glibc)
import Glibc
#endif

extension Repository {
    /// The note attached to `object` under `notesRef`, or nil. Reads any fanout layout.
    public func note(_ notesRef: String, on object: ObjectID) throws -> String? {
        var oid = object.raw
        var note: OpaquePointer?
        let code = git_note_read(&note, handle, notesRef, &oid)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, operation: "read note of \(object) in \(notesRef)")
        defer { git_note_free(note) }
        return git_note_message(note).map { String(cString: $0) }
    }

    /// Every note under `notesRef`: the annotated object and the note's text (none when the ref
    /// does not exist).
    public func allNotes(_ notesRef: String) throws -> [(object: ObjectID, text: String)] {
        final class Found { var pairs: [(note: ObjectID, object: ObjectID)] = [] }
        let found = Found()
        let code = withExtendedLifetime(found) {
            git_note_foreach(handle, notesRef, { blob, annotated, payload in
                let found = Unmanaged<Found>.fromOpaque(payload!).takeUnretainedValue()
                found.pairs.append((ObjectID(blob!.pointee), ObjectID(annotated!.pointee)))
                return 0
            }, Unmanaged.passUnretained(found).toOpaque())
        }
        if code == GIT_ENOTFOUND.rawValue { return [] }
        try check(code, operation: "list notes in \(notesRef)")
        return try found.pairs.map { ($0.object, String(decoding: try blob($0.note), as: UTF8.self)) }
    }

    /// Sets (or, with nil, removes) notes on several objects in one notes commit. The reference moves
    /// by compare-and-swap: if another writer got there first, the change is re-applied on top of
    /// theirs, so no writer's update is lost.
    ///
    /// libgit2's own note writer never creates fanout, which leaves every write O(notes). This one
    /// keeps git's layout: a level of the notes tree splits into `ab/` subtrees by git's heuristic,
    /// once each of the 16 first hex digits at that level holds at least two notes.
    public func updateNotes(_ notesRef: String, _ changes: [(object: ObjectID, text: String?)], message: String, author: Signature) throws {
        var blobs: [(hex: String, blob: ObjectID?)] = []
        for change in changes {
            blobs.append((change.object.hex, try change.text.map { try createBlob(Array($0.utf8)) }))
        }
        for attempt in 0..<1000 {
            if attempt > 0 {
                // Back off a little, at random, so that racing writers do not collide again in step.
                usleep(UInt32.random(in: 500...(2_000 + UInt32(min(attempt, 50)) * 400)))
            }
            if attempt > 0 && attempt % 20 == 0 { removeStaleLock(notesRef) }
            let parent = try referenceTarget(notesRef)
            let baseTree = try parent.map { try commit($0).tree }
            var tree = baseTree
            for (hex, blob) in blobs {
                tree = try NotesTreeEditor(repository: self).set(tree: tree, name: Substring(hex), blob: blob)
            }
            let root = try tree ?? writeTree(base: nil, changes: [])
            let commitID = try createCommit(tree: root, parents: parent.map { [$0] } ?? [], message: message, author: author)
            if try compareAndSwapReference(notesRef, to: commitID, expected: parent, message: "notes: \(message)") { return }
        }
        throw GitError(operation: "update \(notesRef)", code: -1, message: "too many concurrent writers; gave up after 1000 attempts")
    }
}

extension Repository {
    /// A writer killed while it held the ref's lock (SIGKILL, power loss) leaves `<ref>.lock`
    /// behind, and every later update would fail. A lock held for seconds is such a leftover: a
    /// live writer holds it for milliseconds.
    func removeStaleLock(_ ref: String, olderThan seconds: Int = 5) {
        let path = gitDirectory + "/" + ref + ".lock"
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        if now.tv_sec - info.st_mtim.tv_sec >= seconds { unlink(path) }
    }
}

/// Edits one path of a notes tree, level by level, keeping fanout.
struct NotesTreeEditor {
    let repository: Repository

    /// Sets `blob` (nil: removes) as the note named by the remaining hex `name` below `tree`.
    /// Returns the new tree id, or nil when the tree ends up empty.
    func set(tree: ObjectID?, name: Substring, blob: ObjectID?) throws -> ObjectID? {
        let entries = try tree.map { try repository.treeEntries($0) } ?? []
        let prefix = String(name.prefix(2))
        var changes: [(name: String, entry: (id: ObjectID, mode: UInt32)?)] = []
        // A note for this object may also sit unsplit at this level (written by another tool).
        if entries.contains(where: { $0.name == String(name) }) { changes.append((String(name), nil)) }
        if name.count > 2, let subtree = entries.first(where: { $0.name == prefix && $0.isTree }) {
            let newSub = try set(tree: subtree.id, name: name.dropFirst(2), blob: blob)
            changes.append((prefix, newSub.map { ($0, TreeEntry.treeMode) }))
            return try finish(tree: tree, changes: changes)
        }
        if let blob { changes.append((String(name), (blob, TreeEntry.blobMode))) }
        var notes = entries.filter { !$0.isTree && $0.name != String(name) }.map { ($0.name, $0.id) }
        if let blob { notes.append((String(name), blob)) }
        let subtrees = Set(entries.filter { $0.isTree && $0.name.count == 2 }.map(\.name))
        if name.count > 2, shouldSplit(notes: notes.map(\.0), subtrees: subtrees) {
            changes = try split(entries: entries, notes: notes)
        }
        return try finish(tree: tree, changes: changes)
    }

    private func finish(tree: ObjectID?, changes: [(name: String, entry: (id: ObjectID, mode: UInt32)?)]) throws -> ObjectID? {
        let result = try repository.writeTree(base: tree, changes: changes)
        return try repository.treeEntries(result).isEmpty ? nil : result
    }

    /// git's heuristic (notes.c, determine_fanout): split when each of the 16 first hex digits at
    /// this level stands for more than one note (or already for a subtree).
    private func shouldSplit(notes: [String], subtrees: Set<String>) -> Bool {
        var counts = [Int](repeating: 0, count: 16)
        for name in notes {
            guard let first = name.first?.hexDigitValue else { continue }
            counts[first] += 1
        }
        for name in subtrees {
            guard let first = name.first?.hexDigitValue else { continue }
            counts[first] += 2
        }
        return counts.allSatisfy { $0 >= 2 }
    }

    /// Moves every note at this level into its `ab/` subtree (merging with subtrees already there).
    private func split(entries: [TreeEntry], notes: [(String, ObjectID)]) throws -> [(name: String, entry: (id: ObjectID, mode: UInt32)?)] {
        var groups: [String: [(String, ObjectID)]] = [:]
        for (name, id) in notes where name.count > 2 { groups[String(name.prefix(2)), default: []].append((name, id)) }
        var changes: [(name: String, entry: (id: ObjectID, mode: UInt32)?)] = []
        for (prefix, members) in groups.sorted(by: { $0.key < $1.key }) {
            var subtree = entries.first(where: { $0.name == prefix && $0.isTree })?.id
            for (name, id) in members {
                subtree = try set(tree: subtree, name: Substring(name).dropFirst(2), blob: id)
                changes.append((name, nil))
            }
            changes.append((prefix, subtree.map { ($0, TreeEntry.treeMode) }))
        }
        return changes
    }
}
