import Foundation
import GRDB

/// What the runner tidies when an execution ends: its workspace (kept for the last failed execution
/// of each pipeline, or as `pipeline.keepWorkspaces` says), and — beyond the newest
/// `pipeline.retainExecutions` executions of a pipeline — the logs and workspaces of older ones and
/// the artifacts nothing retained uses. Execution rows, events and notes are history and stay.
struct Housekeeping {
    let layout: StateLayout
    let store: Store
    let settings: PipelineSettings
    let log: @Sendable (String) -> Void

    /// `pipeline.keepWorkspaces`: `failed` (the default), `none`, `all`, or the newest N executions'.
    enum KeepWorkspaces: Equatable, Sendable {
        case lastFailed, none, all, newest(Int)

        init(_ value: String?) {
            switch value?.lowercased() {
            case nil, "", "failed": self = .lastFailed
            case "none", "0": self = .none
            case "all": self = .all
            case let text?: self = Int(text).map { .newest(max(0, $0)) } ?? .lastFailed
            }
        }
    }

    func afterExecution(_ executionId: String) {
        do {
            guard let execution = try store.execution(id: executionId), execution.isTerminal else { return }
            try cleanWorkspaces(pipeline: execution.pipeline)
            try retain(pipeline: execution.pipeline)
        } catch {
            log("housekeeping after \(executionId): \(error)")
        }
    }

    private static let terminal = ExecutionStatus.allCases.filter(\.isTerminal).map(\.rawValue)
    private static var terminalList: String { terminal.map { "'\($0)'" }.joined(separator: ",") }

    /// The ids of the pipeline's newest ended executions (or its newest failed one), newest first:
    /// an index walk of `limit` rows, whatever the history holds.
    private func newestEnded(_ pipeline: String, limit: Int, failedOnly: Bool = false) throws -> [String] {
        try store.read { db in
            try String.fetchAll(db, sql: """
                SELECT id FROM executions WHERE pipeline = ? AND status IN (\(failedOnly ? "'Failed'" : Self.terminalList))
                ORDER BY number DESC LIMIT ?
                """, arguments: [pipeline, limit])
        }
    }

    /// Of the execution folders in `folder` (workspaces or logs), those of the pipeline's ended
    /// executions: the work is proportional to what is on the disk, not to the history.
    private func endedFolders(_ pipeline: String, in folder: String) throws -> Set<String> {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { !$0.hasPrefix(".") }
        guard !names.isEmpty else { return [] }
        var found: Set<String> = []
        for chunk in stride(from: 0, to: names.count, by: 500).map({ Array(names[$0..<min($0 + 500, names.count)]) }) {
            found.formUnion(try store.read { db in
                try String.fetchAll(db, sql: """
                    SELECT id FROM executions WHERE pipeline = ? AND status IN (\(Self.terminalList))
                    AND id IN (\(chunk.map { _ in "?" }.joined(separator: ",")))
                    """, arguments: StatementArguments([pipeline] + chunk))
            })
        }
        return found
    }

    private func cleanWorkspaces(pipeline: String) throws {
        let keep: Set<String>
        switch settings.keepWorkspaces {
        case .all: return
        case .none: keep = []
        case .lastFailed: keep = Set(try newestEnded(pipeline, limit: 1, failedOnly: true))
        case .newest(let count): keep = Set(try newestEnded(pipeline, limit: count))
        }
        for id in try endedFolders(pipeline, in: layout.work) where !keep.contains(id) { remove(layout.work + "/" + id) }
    }

    /// Logs, workspaces and artifacts of the executions past the newest `retainExecutions`.
    private func retain(pipeline: String) throws {
        let kept = Set(try newestEnded(pipeline, limit: settings.retainExecutions))
        guard kept.count >= settings.retainExecutions else { return }
        let past = try endedFolders(pipeline, in: layout.logs).union(try endedFolders(pipeline, in: layout.work)).subtracting(kept)
        guard !past.isEmpty else { return }
        for id in past {
            remove(layout.logs + "/" + id)
            remove(layout.work + "/" + id)
        }
        let removed = try collectArtifacts(of: past, pipeline: pipeline, kept: kept)
        log("retention (\(settings.retainExecutions) executions of \(pipeline)): removed the logs and workspaces of \(past.count) older execution" +
            (past.count == 1 ? "" : "s") + " and \(removed) artifact" + (removed == 1 ? "" : "s") + " nothing retained uses")
    }

    /// Removes the zips of `pruned` executions that nothing retained uses: no execution of another
    /// pipeline, none of this one's that is retained or still running, no deployed bundle (a
    /// rollback may redeploy it). Index lookups per digest.
    private func collectArtifacts(of pruned: Set<String>, pipeline: String, kept: Set<String>) throws -> Int {
        let candidates = try store.read { db -> Set<String> in
            var digests = Set<String>()
            for id in pruned {
                digests.formUnion(try String.fetchAll(db, sql: "SELECT digest FROM artifacts WHERE executionId = ?", arguments: [id]))
                if let source = try String.fetchOne(db, sql: "SELECT sourceArtifactDigest FROM executions WHERE id = ?", arguments: [id]) {
                    digests.insert(source)
                }
            }
            return digests
        }
        // Used: by a row that is not past retention (another pipeline's, a retained one, a running one).
        let notPast = "(e.pipeline != ? OR e.status NOT IN (\(Self.terminalList))" +
            (kept.isEmpty ? ")" : " OR e.id IN (\(kept.map { _ in "?" }.joined(separator: ","))))")
        func usedElsewhere(_ digest: String, _ db: Database) throws -> Bool {
            let arguments = StatementArguments([digest, pipeline] + Array(kept))
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM artifacts a JOIN executions e ON e.id = a.executionId WHERE a.digest = ? AND \(notPast) LIMIT 1",
                                 arguments: arguments) == true { return true }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM executions e WHERE e.sourceArtifactDigest = ? AND \(notPast) LIMIT 1",
                                 arguments: arguments) == true { return true }
            return try Bool.fetchOne(db, sql: "SELECT 1 FROM deployments WHERE bundleDigest = ? LIMIT 1", arguments: [digest]) == true
        }
        let unused = try store.read { db in try candidates.filter { !(try usedElsewhere($0, db)) } }
        let store = ArtifactStore(layout: layout)
        var removed = 0
        for digest in unused where FileManager.default.fileExists(atPath: store.path(ofDigest: digest)) {
            remove(store.path(ofDigest: digest))
            removed += 1
        }
        guard removed > 0 else { return 0 }
        // A tree index that names a removed zip would hand out a missing file: it goes too.
        let trees = layout.artifacts + "/trees"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: trees)) ?? [] {
            let digest = (try? String(contentsOfFile: trees + "/" + name, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if !FileManager.default.fileExists(atPath: store.path(ofDigest: digest)) { remove(trees + "/" + name) }
        }
        return removed
    }

    private func remove(_ path: String) {
        guard FileManager.default.fileExists(atPath: path) else { return }
        do { try FileManager.default.removeItem(atPath: path) } catch { log("cannot remove \(path): \(error)") }
    }
}
