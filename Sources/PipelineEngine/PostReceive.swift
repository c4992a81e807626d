import Foundation
import Git
import GRDB
import PipelineModel

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

    /// Parses git's post-receive input; malformed lines are returned as errors to print.
    public static func parse(_ input: String) -> (updates: [RefUpdate], errors: [String]) {
        var updates: [RefUpdate] = [], errors: [String] = []
        for line in input.split(separator: "\n") where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count == 3, let old = ObjectID(hex: String(parts[0])), let new = ObjectID(hex: String(parts[1])) else {
                errors.append("ignored a malformed hook input line: \(line)")
                continue
            }
            updates.append(RefUpdate(old: old, new: new, ref: String(parts[2])))
        }
        return (updates, errors)
    }
}

/// What the post-receive hook does (SPEC §2, §4): for each pushed branch or tag, read the definitions
/// of the pushed revision and record one execution per triggered pipeline, all in one transaction.
/// It never zips, builds or waits: the runner does that.
public struct PostReceive {
    let layout: StateLayout
    let repository: Repository
    let settings: PipelineSettings
    let now: () -> Double

    public init(layout: StateLayout, repository: Repository, settings: PipelineSettings, now: @escaping () -> Double = { Date().timeIntervalSince1970 }) {
        self.layout = layout
        self.repository = repository
        self.settings = settings
        self.now = now
    }

    /// Records the executions for `updates` and returns the lines to print to the pusher.
    public func record(_ updates: [RefUpdate], store: Store, pusher: String) throws -> (lines: [String], executions: [ExecutionRecord]) {
        var lines: [String] = []
        var pending: [(ExecutionRecord, LoadedDefinition)] = []
        for update in updates {
            guard !update.new.isZero else { continue }  // a deletion triggers nothing
            guard update.ref.hasPrefix("refs/heads/") || update.ref.hasPrefix("refs/tags/") else { continue }
            let isBranch = update.ref.hasPrefix("refs/heads/")
            let commit: ObjectID
            do {
                commit = try repository.peelToCommit(update.new)
            } catch {
                lines.append("\(update.ref) does not name a commit; nothing to run (\(error))")
                continue
            }
            let definitions: [LoadedDefinition]
            do {
                definitions = try Definitions.load(repository: repository, commit: commit, repositoryName: layout.repositoryName)
            } catch {
                lines.append("cannot read the definitions of \(commit.short): \(error)")
                continue
            }
            if definitions.isEmpty && isBranch {
                lines.append("no .pipeline.yml or .pipelines/*.yml in \(shortRef(update.ref))@\(commit.short); nothing to run")
            }
            for definition in definitions {
                var definitionJSON: String?
                var definitionError: String?
                var mode = ExecutionMode.superseded
                switch definition.result {
                case .success(let declaration):
                    guard declaration.isTriggered(byRef: update.ref, changedPaths: nil) else { continue }
                    definitionJSON = String(decoding: try JSONEncoder().encode(declaration), as: UTF8.self)
                    mode = declaration.executionMode
                case .failure(let error):
                    guard isBranch else { continue }
                    definitionError = error.description
                    let first = error.diagnostics.first.map(\.description) ?? "invalid definition"
                    let more = error.diagnostics.count > 1 ? " (+\(error.diagnostics.count - 1) more)" : ""
                    lines.append("\(first)\(more)")
                }
                let detail: [String: String] = [
                    "pushedBy": pusher, "ref": update.ref, "oldRevision": update.old.hex, "newRevision": update.new.hex,
                ]
                let detailJSON = String(decoding: try JSONSerialization.data(withJSONObject: detail, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
                let execution = ExecutionRecord(
                    id: UUID().uuidString.lowercased(), pipeline: definition.pipelineName, number: 0,
                    status: ExecutionStatus.inProgress, statusSummary: nil, executionMode: mode.rawValue, ref: update.ref,
                    sourceRevision: commit.hex, oldRevision: update.old.isZero ? nil : update.old.hex,
                    triggerType: "WebhookV2", triggerDetail: detailJSON, definitionPath: definition.path,
                    definitionJSON: definitionJSON, definitionError: definitionError, sourceArtifactDigest: nil,
                    createdAt: now(), startedAt: nil, endedAt: nil, claimedBy: nil)
                pending.append((execution, definition))
            }
        }
        guard !pending.isEmpty else { return (lines, []) }
        let recorded = try store.write { db in
            try pending.map { execution, _ in
                var execution = execution
                execution.number = try Store.nextNumber(db, pipeline: execution.pipeline)
                try execution.insert(db)
                try Events.record(db, Events.pipelineChange, execution: execution, status: ExecutionStatus.inProgress, time: execution.createdAt)
                return execution
            }
        }
        let notesName = settings.notesRef.hasPrefix("refs/notes/") ? String(settings.notesRef.dropFirst("refs/notes/".count)) : settings.notesRef
        for execution in recorded {
            let what = execution.definitionError == nil ? "queued" : "failed (invalid \(execution.definitionPath))"
            lines.append("\(execution.label) \(what) for \(execution.refShortName)@\(String(execution.sourceRevision.prefix(7))) " +
                         "(\(execution.executionMode)) — git log --notes=\(notesName) -1 \(String(execution.sourceRevision.prefix(7)))")
        }
        return (lines, recorded)
    }

    private func shortRef(_ ref: String) -> String {
        for prefix in ["refs/heads/", "refs/tags/"] where ref.hasPrefix(prefix) { return String(ref.dropFirst(prefix.count)) }
        return ref
    }
}
