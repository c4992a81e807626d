import Foundation
import GRDB
import PipelineModel

/// Runs one execution: stages in order, the actions of a stage by runOrder (equal runOrder in
/// parallel). A failed action fails its stage and the execution; later stages do not run.
struct ExecutionRunner: Sendable {
    let executionId: String
    let layout: StateLayout
    let settings: PipelineSettings
    let store: Store
    let notes: NotesWriter
    let scheduler: StageScheduler
    let doorbell: Doorbell
    let world: World
    /// The runner's log (runner.log).
    let log: @Sendable (String) -> Void

    private func now() -> Double { world.clock.now() }

    func run() async {
        do {
            try await runStages()
        } catch {
            // Anything unexpected (disk full, a corrupt store) still ends the execution, with the
            // reason. When even that cannot be written (the disk is full), it is tried again until
            // it can: nothing stays InProgress, and the runner is not idle meanwhile.
            let summary = "git-pipeline internal error: \(error)" + DiskSpace.remark(layout.root)
            await retrying("record that \(executionId) failed (\(summary))") { try finishAfterError(summary) }
        }
        await retrying("write the note of \(executionId)", attempts: 12) { try notes.update(executionId: executionId) }
    }

    /// Runs `body` until it succeeds (every 5 s, at most `attempts` times), saying once in the
    /// runner's log why it waits.
    private func retrying(_ what: String, attempts: Int = .max, _ body: () throws -> Void) async {
        var attempt = 0
        while true {
            attempt += 1
            do { return try body() } catch {
                if attempt == 1 { log("cannot \(what): \(error)\(DiskSpace.remark(layout.root)); trying again every 5 s") }
                if attempt >= attempts { return log("gave up: cannot \(what): \(error)") }
                try? await Task.sleep(nanoseconds: 5_000_000_000)
            }
        }
    }

    /// Fails the execution and whatever of it still runs in the store, in one write.
    private func finishAfterError(_ summary: String) throws {
        try store.write { db in
            let time = now()
            guard let execution = try ExecutionRecord.fetchOne(db, key: executionId), !execution.isTerminal else { return }
            for action in try ActionRecord.filter(Column("executionId") == executionId && Column("status") == ActionStatus.inProgress.rawValue).fetchAll(db) {
                try StatusChanges.action(db, action, execution: execution, to: .failed, time: time) { $0.errorMessage = summary }
            }
            try StatusChanges.endRunningStages(db, execution: execution, as: .failed, time: time)
            try StatusChanges.execution(db, executionId, to: .failed, time: time) {
                $0.startedAt = $0.startedAt ?? time
                $0.statusSummary = summary
            }
        }
    }

    /// How a stage ended, for the execution.
    private enum StageEnd {
        case succeeded, failed, stopped
    }

    private func runStages() async throws {
        let execution = try store.write { db -> ExecutionRecord in
            var execution = try ExecutionRecord.fetchOne(db, key: executionId)!
            execution.startedAt = execution.startedAt ?? now()
            try execution.update(db)
            return execution
        }
        if let error = execution.definitionError {
            try finish(.failed, summary: "invalid definition \(execution.definitionPath): " +
                       (error.split(separator: "\n").first.map(String.init) ?? error))
            return
        }
        let declaration = try JSONDecoder().decode(PipelineDeclaration.self, from: Data((execution.definitionJSON ?? "").utf8))
        try notes.update(executionId: executionId)

        var artifacts = try Dictionary(store.artifacts(of: executionId).map { ($0.name, $0.digest) }, uniquingKeysWith: { $1 })
        let mode = ExecutionMode(rawValue: execution.executionMode) ?? .superseded
        // A retry starts at its stage: earlier stages succeeded and keep their artifacts; in the
        // stage, actions that succeeded are kept unless all actions are retried.
        let retryIndex = execution.retryStage.flatMap { name in declaration.stages.firstIndex { $0.name == name } } ?? 0
        let keep: Set<String> = execution.retryMode == "FAILED_ACTIONS"
            ? Set(try store.actions(of: executionId).filter { $0.stageName == execution.retryStage }
                .reduce(into: [String: ActionRecord]()) { $0[$1.actionName] = $1 }.values
                .filter { $0.status == .succeeded }.map(\.actionName))
            : []
        if execution.retryStage != nil {
            try store.write { db in try db.execute(sql: "UPDATE executions SET retryStage = NULL, retryMode = NULL WHERE id = ?", arguments: [executionId]) }
        }
        for (index, stage) in declaration.stages.enumerated() where index >= retryIndex {
            if try stopRequested() { return try finishStopped() }
            guard try await enter(stage.name, execution: execution, mode: mode) else {
                if try stopRequested() { return try finishStopped() }
                try finish(.superseded, summary: "superseded by a newer execution while it waited to enter \(stage.name)")
                return
            }
            // The stage is ours until it ends, whatever way it ends: it is left before anything else happens.
            let cause: StatusCause = index == retryIndex && execution.retryStage != nil ? .retry : .outcome
            let ended: Result<StageEnd, any Error>
            do {
                ended = .success(try await runStage(stage, index: index, cause: cause, execution: execution, declaration: declaration,
                                                    artifacts: &artifacts, keep: index == retryIndex ? keep : []))
            } catch {
                ended = .failure(error)
            }
            await scheduler.leave(pipeline: execution.pipeline, stage: stage.name, executionId: executionId)
            switch try ended.get() {
            case .stopped:
                return try finishStopped()
            case .failed:
                try finish(.failed, summary: "stage \(stage.name) failed" + (try onFailure(stage, execution: execution) ?? ""))
                return
            case .succeeded:
                // A ROLLBACK execution runs its one stage only.
                if execution.rollbackTarget != nil { return try finish(.succeeded, summary: nil) }
            }
        }
        try finish(.succeeded, summary: nil)
    }

    /// One stage: its runOrder groups in turn, the actions of a group in parallel.
    private func runStage(_ stage: Stage, index: Int, cause: StatusCause, execution: ExecutionRecord, declaration: PipelineDeclaration,
                          artifacts: inout [String: String], keep: Set<String>) async throws -> StageEnd {
        try setStage(stage.name, index: index, status: .inProgress, cause: cause, execution: execution)
        var stageFailed = false, stopped = false
        var succeeded = keep
        // onFailure RETRY: the stage's failed actions run once more before the stage fails.
        let rounds = stage.onFailureResult?.uppercased() == "RETRY" ? 2 : 1
        for round in 1...rounds {
            stageFailed = false
            for group in stage.runOrderGroups {
                // Stop starts nothing new; what runs finishes (or, abandoned, is stopped by the runner).
                if try stopRequested() { stopped = true; break }
                let available = artifacts, skip = succeeded
                let outcomes = await withTaskGroup(of: (Action, ActionOutcome).self) { tasks in
                    for action in group where !skip.contains(action.name) {
                        tasks.addTask { (action, await runAction(action, stage: stage, execution: execution, declaration: declaration, artifacts: available)) }
                    }
                    var results: [(Action, ActionOutcome)] = []
                    for await result in tasks { results.append(result) }
                    return results
                }
                for (action, outcome) in outcomes {
                    for artifact in outcome.outputArtifacts { artifacts[artifact.name] = artifact.digest }
                    if outcome.succeeded { succeeded.insert(action.name) } else { stageFailed = true }
                }
                if stageFailed { break }
            }
            if !stageFailed || stopped || round == rounds { break }
            try store.write { db in
                try Events.record(db, Events.stageChange, execution: execution, status: "Resumed", stage: stage.name, time: now())
            }
        }
        if try stopped || stopRequested() {
            try setStage(stage.name, index: index, status: .stopped, execution: execution)
            return .stopped
        }
        try setStage(stage.name, index: index, status: stageFailed ? .failed : .succeeded, execution: execution)
        try notes.update(executionId: executionId)
        return stageFailed ? .failed : .succeeded
    }

    /// Stage `onFailure: {result: ROLLBACK}`: CodePipeline's automatic stage rollback, a ROLLBACK
    /// execution to the last execution that succeeded in the stage. Returns what the summary adds.
    private func onFailure(_ stage: Stage, execution: ExecutionRecord) throws -> String? {
        guard stage.onFailureResult?.uppercased() == "ROLLBACK", execution.rollbackTarget == nil else { return nil }
        do {
            let rollback = try StageRollback.create(store: store, pipeline: execution.pipeline, stage: stage.name, target: nil,
                                                    trigger: "AutomatedRollback", detail: ["failedPipelineExecutionId": executionId], now: now())
            return "; rolled back by \(rollback.label)"
        } catch let refused as OperationError {
            return "; no rollback: \(refused.message)"
        }
    }

    private func stopRequested() throws -> Bool {
        try store.read { try ExecutionStatus.fetchOne($0, sql: "SELECT status FROM executions WHERE id = ?", arguments: [executionId]) } == .stopping
    }

    private func finishStopped() throws {
        try finish(.stopped, summary: try store.execution(id: executionId)?.statusSummary ?? "stopped")
    }

    /// Waits at the stage's entrance (recorded in the store, so `status` shows it), then enters.
    private func enter(_ stage: String, execution: ExecutionRecord, mode: ExecutionMode) async throws -> Bool {
        try store.write { db in try db.execute(sql: "UPDATE executions SET waitingStage = ? WHERE id = ?", arguments: [stage, executionId]) }
        let entered = await scheduler.enter(pipeline: execution.pipeline, stage: stage, executionId: executionId, number: execution.number, mode: mode)
        try store.write { db in try db.execute(sql: "UPDATE executions SET waitingStage = NULL WHERE id = ?", arguments: [executionId]) }
        return entered
    }

    private func setStage(_ name: String, index: Int, status: StageStatus, cause: StatusCause = .outcome, execution: ExecutionRecord) throws {
        let time = now()
        try store.write { db in
            try StatusChanges.stage(db, execution: execution, name: name, index: index, to: status, cause: cause, time: time)
        }
    }

    private func finish(_ status: ExecutionStatus, summary: String?) throws {
        try store.write { db in
            let time = now()
            try StatusChanges.execution(db, executionId, to: status, time: time) { execution in
                execution.startedAt = execution.startedAt ?? time
                // A rollback keeps saying what it rolled back to; a stopped one why it stopped.
                if let summary { execution.statusSummary = summary } else if execution.rollbackTarget == nil { execution.statusSummary = nil }
            }
        }
    }

    private func runAction(_ declared: Action, stage: Stage, execution: ExecutionRecord, declaration: PipelineDeclaration,
                           artifacts: [String: String]) async -> ActionOutcome {
        let time = now()
        let inputs = declared.inputArtifacts.compactMap { name in artifacts[name].map { (name: name, digest: $0) } }
        let logFolder = layout.logs + "/\(executionId)/\(stage.name)"
        let workFolder = layout.work + "/\(executionId)/\(stage.name)"
        var record: ActionRecord
        do {
            try world.files.createDirectory(logFolder)
            try world.files.createDirectory(workFolder)
            record = try store.write { db -> ActionRecord in
                let attempt = (try Int.fetchOne(db.cachedStatement(sql: "SELECT MAX(attempt) FROM actions WHERE executionId = ? AND stageName = ? AND actionName = ?"),
                                                arguments: [executionId, stage.name, declared.name]) ?? 0) + 1
                var record = ActionRecord(
                    id: nil, executionId: executionId, stageName: stage.name, actionName: declared.name, category: declared.category.rawValue,
                    provider: declared.provider, runOrder: declared.runOrder, attempt: attempt, status: .inProgress,
                    startedAt: time, endedAt: nil, processGroup: nil, logPath: logFolder + "/\(declared.name).\(attempt).log",
                    summary: nil, errorMessage: nil, failedCommand: nil, outputVariables: nil, testReport: nil)
                try record.insert(db)
                try Events.record(db, Events.actionChange, execution: execution, status: ActionStatus.inProgress.rawValue, stage: stage.name,
                                  action: record, inputArtifacts: inputs, time: time)
                return record
            }
        } catch {
            return .failure("cannot start the action: \(error)")
        }
        let provider = ActionProviders.provider(named: declared.provider)
        let secrets = ActionSecrets()
        func context(_ action: Action) -> ActionContext {
            ActionContext(execution: execution, stage: stage, action: action, actionId: record.id!, attempt: record.attempt, layout: layout,
                          settings: settings, store: store, notes: notes, artifacts: ArtifactStore(layout: layout),
                          availableArtifacts: artifacts, logPath: record.logPath!, workspace: workFolder + "/\(action.name).\(record.attempt)",
                          world: world, doorbell: doorbell, pipelineNetwork: declaration.network,
                          cloneArtifacts: declaration.cloneArtifacts, secrets: secrets)
        }
        let log = context(declared)
        try? world.files.write(log.logPath, text: "[git-pipeline] action \(declared.name) (\(declared.category.rawValue)/\(declared.provider)), " +
                               "execution \(executionId)\n" + (provider?.describe(declared) ?? ""))
        notes.updateSoon(executionId: executionId)

        var outcome: ActionOutcome
        do {
            guard let provider else {
                throw ActionOutcome.failure("provider \(declared.provider) has no local equivalent; replace it with one of SPEC §6's providers to run it here")
            }
            // Variables resolve just before the action starts, so earlier actions' outputs are there.
            // (Loaded only when the action refers to one: the load reads every action of the execution.)
            let action = VariableResolver.refersToVariables(declared)
                ? try VariableResolver.load(store: store, execution: execution, declaration: declaration).resolve(declared) : declared
            outcome = try await provider.run(context(action))
        } catch let failure as ActionOutcome {
            outcome = failure
        } catch {
            outcome = .failure("\(error)")
        }
        outcome = outcome.masked(with: secrets.mask, log: log)
        if !outcome.succeeded {
            // A full disk is the likeliest reason for what failed then: say so, with the path.
            outcome.errorMessage = (outcome.errorMessage ?? "failed") + DiskSpace.remark(layout.root)
            log.log("[git-pipeline] action \(declared.name) failed: " + (outcome.failedCommand.map { "command `\($0)` — " } ?? "") + (outcome.errorMessage ?? ""))
        }
        let end = now()
        let final = outcome
        let ended = record
        try? store.write { db in
            let abandoned = try String.fetchOne(db.cachedStatement(sql: "SELECT stopMode FROM executions WHERE id = ? AND status = ?"),
                                                arguments: [executionId, ExecutionStatus.stopping]) == "abandon"
            let outputVariables = final.outputVariables.isEmpty ? nil
                : jsonText(final.outputVariables, pretty: false)
            let testReport = try final.testReport.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
            try StatusChanges.action(db, ended, execution: execution, to: abandoned ? .abandoned : (final.succeeded ? .succeeded : .failed), time: end,
                                     inputArtifacts: inputs, outputArtifacts: final.outputArtifacts.map { (name: $0.name, digest: $0.digest) }) {
                $0.summary = final.summary
                $0.errorMessage = final.errorMessage
                $0.failedCommand = final.failedCommand
                $0.outputVariables = outputVariables
                $0.testReport = testReport
            }
            for artifact in final.outputArtifacts {
                try ArtifactRecord(executionId: executionId, name: artifact.name, digest: artifact.digest, size: artifact.size).save(db)
            }
        }
        return outcome
    }
}
