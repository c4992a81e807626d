import Foundation
import Git
import GRDB
import PipelineModel

/// What a push does (SPEC §2, §4): for each pushed branch or tag, find the definitions of the
/// pushed revision and record one execution per triggered pipeline, inside the caller's
/// transaction (the intake's, which marks the journal entry recorded in the same one). It never
/// zips, builds or waits: the runner does that.
struct PushRecorder {
    let repository: Repository
    let repositoryName: String
    let notesName: String
    let clock: any WallClock

    private struct Pending {
        var update: RefUpdate
        var commit: ObjectID
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

    /// Records the executions the updates trigger; returns the lines to print and the executions.
    func record(_ db: Database, _ updates: [RefUpdate], pusher: String, intakeEntry: String?,
                options: PushOptions = PushOptions()) throws -> (lines: [String], executions: [ExecutionRecord]) {
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
            let messageSkips = PushOptions.messageSkips(try repository.commit(commit).message)
            if options.skip || messageSkips {
                lines.append("\(update.shortName)@\(commit.short) skipped (\(options.skip ? "push option ci.skip" : "[skip ci] in its message")): nothing runs")
                continue
            }
            let files = try DefinitionFiles.list(repository: repository, commit: commit)
            if files.isEmpty && update.isBranch {
                lines.append("no .pipeline.yml or .pipelines/*.yml in \(update.shortName)@\(commit.short); nothing to run")
            }
            var changed: (paths: [String], basis: String)?
            var seen: [String] = []
            for file in files {
                let definition = try DefinitionCache.definition(db, repository: repository, path: file.path, blob: file.blob, problem: file.problem,
                                                                repositoryName: repositoryName)
                seen.append(definition.pipeline)
                if let only = options.pipeline, definition.pipeline != only { continue }
                let filters = definition.pushFilters
                let filtersPaths = filters.contains { $0.filePaths != nil }
                if filtersPaths && changed == nil { changed = try changedPaths(update, commit: commit) }
                if let error = definition.definitionError {
                    // An invalid definition cannot say what triggers it: it fails on branch pushes.
                    guard update.isBranch else { continue }
                    let all = error.split(separator: "\n")
                    lines.append(String(all.first ?? "invalid definition") + (all.count > 1 ? " (+\(all.count - 1) more)" : ""))
                } else if !PushFilter.matches(filters, ref: update.ref, changedPaths: changed?.paths) {
                    continue
                }
                pending.append(Pending(update: update, commit: commit, definition: definition,
                                       changedPathsBasis: filtersPaths ? changed?.basis : nil))
            }
            if let only = options.pipeline, !seen.contains(only) {
                lines.append("push option ci.pipeline=\(only): \(update.shortName)@\(commit.short) has no pipeline \(only)" +
                             (seen.isEmpty ? "" : " (there: \(seen.joined(separator: ", ")))") + "; nothing runs")
            }
        }
        guard !pending.isEmpty else { return (lines, []) }
        let now = clock.now()
        let recorded = try pending.map { item -> ExecutionRecord in
                var fields = ["pushedBy": pusher, "ref": item.update.ref, "oldRevision": item.update.old.hex, "newRevision": item.update.new.hex]
                if let basis = item.changedPathsBasis { fields["changedPaths"] = basis }
                // Push variables must be declared, as StartPipelineExecution's: an undeclared one fails the execution, saying so.
                var definitionError = item.definition.definitionError
                if definitionError == nil, !options.variables.isEmpty, let json = item.definition.definitionJSON,
                   let declaration = try? JSONDecoder().decode(PipelineDeclaration.self, from: Data(json.utf8)) {
                    let declared = Set(declaration.variables.map(\.name))
                    let unknown = options.variables.keys.sorted().filter { !declared.contains($0) }
                    if !unknown.isEmpty {
                        definitionError = unknown.map { "push option ci.variable=\($0)=…: pipeline \(declaration.name) declares no variable `\($0)`" +
                            " (declared: \(declared.isEmpty ? "none" : declared.sorted().joined(separator: ", "))) — declare it under `variables:`, or push without it" }
                            .joined(separator: "\n")
                    }
                }
                var execution = ExecutionRecord(
                    id: UUID().uuidString.lowercased(), pipeline: item.definition.pipeline,
                    number: try Store.nextNumber(db, pipeline: item.definition.pipeline), status: .inProgress,
                    executionMode: item.definition.executionMode, ref: item.update.ref, sourceRevision: item.commit.hex,
                    oldRevision: item.update.old.isZero ? nil : item.update.old.hex, triggerType: "WebhookV2",
                    triggerDetail: jsonText(fields, pretty: false), definitionPath: item.definition.path,
                    definitionJSON: item.definition.definitionJSON, definitionError: definitionError, createdAt: now,
                    variables: options.variables.isEmpty ? nil : String(decoding: try JSONEncoder().encode(options.variables), as: UTF8.self))
                execution.intakeEntry = intakeEntry
                try execution.insert(db)
                try Events.record(db, Events.pipelineChange, execution: execution, status: ExecutionStatus.inProgress, time: now)
                return execution
        }
        for (item, execution) in zip(pending, recorded) {
            let what = item.definition.definitionError == nil ? (execution.definitionError == nil ? "queued" : "failed (push option ci.variable)")
                : "failed (invalid \(item.definition.path))"
            lines.append("\(execution.label) \(what) for \(item.update.shortName)@\(item.commit.short) " +
                         "(\(item.definition.executionMode)) — git log --notes=\(notesName) -1 \(item.commit.short)")
        }
        return (lines, recorded)
    }
}
