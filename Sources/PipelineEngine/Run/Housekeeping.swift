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

    private func ended(_ pipeline: String) throws -> [ExecutionRecord] {
        try store.read { db in
            try ExecutionRecord.filter(Column("pipeline") == pipeline && ExecutionStatus.allCases.filter(\.isTerminal).map(\.rawValue).contains(Column("status")))
                .order(Column("number").desc).fetchAll(db)
        }
    }

    private func cleanWorkspaces(pipeline: String) throws {
        let executions = try ended(pipeline)
        let keep: Set<String>
        switch settings.keepWorkspaces {
        case .all: return
        case .none: keep = []
        case .lastFailed: keep = Set(executions.first { $0.status == .failed }.map { [$0.id] } ?? [])
        case .newest(let count): keep = Set(executions.prefix(count).map(\.id))
        }
        for execution in executions where !keep.contains(execution.id) { remove(layout.work + "/" + execution.id) }
    }

    /// Logs, workspaces and artifacts of the executions past the newest `retainExecutions`.
    private func retain(pipeline: String) throws {
        let executions = try ended(pipeline)
        guard executions.count > settings.retainExecutions else { return }
        var pruned = 0
        for execution in executions.dropFirst(settings.retainExecutions) {
            let hadFiles = FileManager.default.fileExists(atPath: layout.logs + "/" + execution.id)
                || FileManager.default.fileExists(atPath: layout.work + "/" + execution.id)
            remove(layout.logs + "/" + execution.id)
            remove(layout.work + "/" + execution.id)
            if hadFiles { pruned += 1 }
        }
        guard pruned > 0 else { return }
        let removed = try collectArtifacts(pastRetention: Set(executions.dropFirst(settings.retainExecutions).map(\.id)))
        log("retention (\(settings.retainExecutions) executions of \(pipeline)): removed the logs and workspaces of \(pruned) older execution" +
            (pruned == 1 ? "" : "s") + " and \(removed) artifact" + (removed == 1 ? "" : "s") + " nothing retained uses")
    }

    /// Removes the zips that only executions past retention use. Every other execution's artifacts,
    /// source artifacts, and every deployed bundle (a rollback may redeploy it) stay.
    private func collectArtifacts(pastRetention: Set<String>) throws -> Int {
        let (used, candidates) = try store.read { db -> (Set<String>, Set<String>) in
            var used = Set<String>(), candidates = Set<String>()
            for row in try Row.fetchAll(db, sql: "SELECT executionId, digest FROM artifacts") {
                let digest: String = row["digest"]
                if pastRetention.contains(row["executionId"] as String) { candidates.insert(digest) } else { used.insert(digest) }
            }
            for row in try Row.fetchAll(db, sql: "SELECT id, sourceArtifactDigest FROM executions WHERE sourceArtifactDigest IS NOT NULL") {
                let digest: String = row["sourceArtifactDigest"]
                if pastRetention.contains(row["id"] as String) { candidates.insert(digest) } else { used.insert(digest) }
            }
            used.formUnion(try String.fetchAll(db, sql: "SELECT bundleDigest FROM deployments"))
            return (used, candidates)
        }
        let store = ArtifactStore(layout: layout)
        var removed = 0
        for digest in candidates.subtracting(used) where FileManager.default.fileExists(atPath: store.path(ofDigest: digest)) {
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
