import Git
import PipelineTriggers
#if canImport(Glibc)
import Glibc
#endif

/// One line of post-receive input: `<old> <new> <ref>`.
public struct RefUpdate: Sendable, Equatable {
    public let old: ObjectID
    public let new: ObjectID
    public let ref: String

    public init(old: ObjectID, new: ObjectID, ref: String) {
        self.old = old
        self.new = new
        self.ref = ref
    }

    /// Parses git's post-receive input; malformed lines come back as messages to print.
    public static func parse(_ input: String) -> (updates: [RefUpdate], errors: [String]) {
        var updates: [RefUpdate] = [], errors: [String] = []
        for line in input.split(separator: "\n") where !line.allSatisfy({ $0 == " " || $0 == "\r" }) {
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count == 3, let old = ObjectID(hex: String(parts[0])), let new = ObjectID(hex: String(parts[1])) else {
                errors.append("ignored a malformed hook input line: \(line)")
                continue
            }
            updates.append(RefUpdate(old: old, new: new, ref: String(parts[2])))
        }
        return (updates, errors)
    }

    /// Branch and tag pushes trigger; deletions and other refs (notes, …) do not.
    public var triggers: Bool { !new.isZero && (ref.hasPrefix("refs/heads/") || ref.hasPrefix("refs/tags/")) }
    public var isBranch: Bool { ref.hasPrefix("refs/heads/") }
    public var shortName: String { shortRefName(ref) }
}

/// Where definitions live in a revision (SPEC §3): `.pipeline.yml` and `.pipelines/*.yml`, or
/// CodePipeline's JSON (`aws codepipeline get-pipeline` output) as `.pipeline.json`/`.pipelines/*.json`.
public enum DefinitionFiles {
    static let rootFiles = [".pipeline.yml", ".pipeline.yaml", ".pipeline.json"]
    static let suffixes = [".yml", ".yaml", ".json"]

    /// Every definition file of `commit`, in path order, with its blob.
    public static func list(repository: Repository, commit: ObjectID) throws -> [(path: String, blob: ObjectID)] {
        let tree = try repository.commit(commit).tree
        var files: [(path: String, blob: ObjectID)] = []
        for name in rootFiles {
            if let entry = try repository.treeEntry(in: tree, path: name), !entry.isTree { files.append((name, entry.id)) }
        }
        if let folder = try repository.treeEntry(in: tree, path: ".pipelines"), folder.isTree {
            for entry in try repository.treeEntries(folder.id) where !entry.isTree && suffixes.contains(where: { entry.name.hasSuffix($0) }) {
                files.append((".pipelines/" + entry.name, entry.id))
            }
        }
        return files
    }

    /// A pipeline's name when its file declares none: `.pipelines/NAME.yml` gives NAME, the root
    /// file the repository's name.
    public static func defaultName(path: String, repositoryName: String) -> String {
        guard path.hasPrefix(".pipelines/") else { return repositoryName }
        var name = String(path.dropFirst(".pipelines/".count))
        for suffix in suffixes where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
        return name
    }

    /// The repository's name, as CodePipeline's RepositoryName: the folder without `.git`.
    public static func repositoryName(gitDirectory: String) -> String {
        var path = gitDirectory
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        var name = String(path.split(separator: "/").last ?? "repository")
        if name == ".git" { name = String(path.split(separator: "/").dropLast().last ?? "repository") }
        if name.hasSuffix(".git") { name.removeLast(4) }
        return name
    }
}

/// A definition as the runner parsed it, cached in the store by (blob, path): what the hook needs
/// to decide and record without parsing YAML.
public struct CachedDefinition: Sendable {
    public var pipeline: String
    public var executionMode: String
    public var definitionJSON: String?
    public var definitionError: String?
    public var filters: [PushFilter]

    static func load(_ database: SQLiteConnection, blob: ObjectID, path: String) throws -> CachedDefinition? {
        let rows = try database.query("""
            SELECT pipeline, executionMode, definitionJSON, definitionError, filters FROM definitions WHERE blob = ? AND path = ?
            """, [.text(blob.hex), .text(path)])
        guard let row = rows.first, let pipeline = row[0].text, let mode = row[1].text else { return nil }
        return CachedDefinition(pipeline: pipeline, executionMode: mode, definitionJSON: row[2].text,
                                definitionError: row[3].text, filters: PushFilter.decodeLines(row[4].text ?? ""))
    }
}

/// What the post-receive hook does (SPEC §2, §4): for each pushed branch or tag, find the
/// definitions of the pushed revision and record one execution per triggered pipeline, all in one
/// transaction. It never zips, builds or waits: the runner does that.
public struct PushRecorder {
    public enum Outcome {
        /// Lines to print, and how many executions were recorded.
        case recorded([String], executions: Int)
        /// A definition is not in the cache yet: the full binary must parse it first.
        case needsParsing
    }

    let repository: Repository
    let database: SQLiteConnection
    let notesRef: String

    public init(repository: Repository, database: SQLiteConnection, notesRef: String) {
        self.repository = repository
        self.database = database
        self.notesRef = notesRef
    }

    struct Pending {
        var update: RefUpdate
        var commit: ObjectID
        var path: String
        var definition: CachedDefinition
        var changedPathsBasis: String?
    }

    /// The files a push changed, for filePaths filters (SPEC §4): old..new; for a new ref, against
    /// the merge base with the default branch (HEAD). Returns the paths and how they were found.
    func changedPaths(_ update: RefUpdate, commit: ObjectID) throws -> (paths: [String], basis: String) {
        if !update.old.isZero, let old = try? repository.peelToCommit(update.old) {
            return (try repository.changedPaths(from: old, to: commit), "changes \(old.short)..\(commit.short)")
        }
        if let head = repository.headBranch(), head != update.ref, let tip = try repository.referenceTarget(head),
           let base = try repository.mergeBase(tip, commit) {
            return (try repository.changedPaths(from: base, to: commit),
                    "new \(update.isBranch ? "branch" : "tag"): changes since the merge base \(base.short) with \(shortRefName(head))")
        }
        return (try repository.changedPaths(from: nil, to: commit), "new \(update.isBranch ? "branch" : "tag") with no merge base with HEAD: every file")
    }

    public func record(_ updates: [RefUpdate], pusher: String, now: Double = wallClock()) throws -> Outcome {
        var lines: [String] = []
        var pending: [Pending] = []
        for update in updates where update.triggers {
            let commit: ObjectID
            do {
                commit = try repository.peelToCommit(update.new)
            } catch {
                lines.append("\(update.ref) does not name a commit; nothing to run (\(error))")
                continue
            }
            let files = try DefinitionFiles.list(repository: repository, commit: commit)
            if files.isEmpty && update.isBranch {
                lines.append("no .pipeline.yml or .pipelines/*.yml in \(update.shortName)@\(commit.short); nothing to run")
            }
            var changed: (paths: [String], basis: String)?
            for file in files {
                guard let definition = try CachedDefinition.load(database, blob: file.blob, path: file.path) else { return .needsParsing }
                let filtersPaths = definition.filters.contains { $0.filePaths != nil }
                if filtersPaths && changed == nil { changed = try changedPaths(update, commit: commit) }
                if let error = definition.definitionError {
                    // An invalid definition cannot say what triggers it: it fails on branch pushes.
                    guard update.isBranch else { continue }
                    let all = error.split(separator: "\n")
                    lines.append(String(all.first ?? "invalid definition") + (all.count > 1 ? " (+\(all.count - 1) more)" : ""))
                } else if !PushFilter.matches(definition.filters, ref: update.ref, changedPaths: changed?.paths) {
                    continue
                }
                pending.append(Pending(update: update, commit: commit, path: file.path, definition: definition,
                                       changedPathsBasis: filtersPaths ? changed?.basis : nil))
            }
        }
        guard !pending.isEmpty else { return .recorded(lines, executions: 0) }

        try database.execute("BEGIN IMMEDIATE")
        var recorded: [(Pending, Int64)] = []
        do {
            for item in pending {
                let number = try database.query("""
                    INSERT INTO counters (pipeline, lastNumber) VALUES (?, 1)
                    ON CONFLICT(pipeline) DO UPDATE SET lastNumber = lastNumber + 1 RETURNING lastNumber
                    """, [.text(item.definition.pipeline)]).first?.first?.integer ?? 0
                let id = randomUUID()
                var fields = ["pushedBy": pusher, "ref": item.update.ref, "oldRevision": item.update.old.hex, "newRevision": item.update.new.hex]
                if let basis = item.changedPathsBasis { fields["changedPaths"] = basis }
                let detail = jsonObject(fields)
                try database.query("""
                    INSERT INTO executions (id, pipeline, number, status, executionMode, ref, sourceRevision, oldRevision,
                        triggerType, triggerDetail, definitionPath, definitionJSON, definitionError, createdAt)
                    VALUES (?, ?, ?, 'InProgress', ?, ?, ?, ?, 'WebhookV2', ?, ?, ?, ?, ?)
                    """, [.text(id), .text(item.definition.pipeline), .integer(number), .text(item.definition.executionMode),
                          .text(item.update.ref), .text(item.commit.hex), item.update.old.isZero ? .null : .text(item.update.old.hex),
                          .text(detail), .text(item.path), item.definition.definitionJSON.map { .text($0) } ?? .null,
                          item.definition.definitionError.map { .text($0) } ?? .null, .real(now)])
                // EventBridge's "execution started" event, as the engine's Events writes the rest.
                let event = "{\"execution-id\":\(jsonQuote(id)),\"execution-trigger\":{\"trigger-detail\":\(jsonQuote(detail))," +
                    "\"trigger-type\":\"WebhookV2\"},\"pipeline\":\(jsonQuote(item.definition.pipeline)),\"state\":\"STARTED\",\"version\":1}"
                try database.query("INSERT INTO events (time, detailType, executionId, detail) VALUES (?, ?, ?, ?)",
                                   [.real(now), .text("CodePipeline Pipeline Execution State Change"), .text(id), .text(event)])
                recorded.append((item, number))
            }
            try database.execute("COMMIT")
        } catch {
            try? database.execute("ROLLBACK")
            throw error
        }
        let notesName = notesRef.hasPrefix("refs/notes/") ? String(notesRef.dropFirst("refs/notes/".count)) : notesRef
        for (item, number) in recorded {
            let what = item.definition.definitionError == nil ? "queued" : "failed (invalid \(item.path))"
            lines.append("\(item.definition.pipeline) #\(number) \(what) for \(item.update.shortName)@\(item.commit.short) " +
                         "(\(item.definition.executionMode)) — git log --notes=\(notesName) -1 \(item.commit.short)")
        }
        return .recorded(lines, executions: recorded.count)
    }
}
