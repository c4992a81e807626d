import Foundation
import GRDB
import PipelineModel

/// Runs one execution: stages in order, the actions of a stage by runOrder (equal runOrder in
/// parallel). A failed action fails its stage and the execution; later stages do not run.
struct ExecutionRunner {
    let executionId: String
    let layout: StateLayout
    let settings: PipelineSettings
    let store: Store
    let notes: NotesWriter
    let scheduler: StageScheduler
    let now: @Sendable () -> Double

    func run() async {
        do {
            try await runStages()
        } catch {
            // Anything unexpected (disk full, a corrupt store) still ends the execution, with the reason.
            try? finish(status: ExecutionStatus.failed, summary: "git-pipeline internal error: \(error)")
        }
        try? notes.update(executionId: executionId)
    }

    private func runStages() async throws {
        let execution = try store.write { db -> ExecutionRecord in
            var execution = try ExecutionRecord.fetchOne(db, key: executionId)!
            execution.startedAt = execution.startedAt ?? now()
            try execution.update(db)
            return execution
        }
        if let error = execution.definitionError {
            try finish(status: ExecutionStatus.failed, summary: "invalid definition \(execution.definitionPath): " +
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
                .filter { $0.status == ExecutionStatus.succeeded }.map(\.actionName))
            : []
        if execution.retryStage != nil {
            try store.write { db in try db.execute(sql: "UPDATE executions SET retryStage = NULL, retryMode = NULL WHERE id = ?", arguments: [executionId]) }
        }
        for (index, stage) in declaration.stages.enumerated() where index >= retryIndex {
            if try stopRequested() { return try finishStopped() }
            guard try await enter(stage.name, execution: execution, mode: mode) else {
                if try stopRequested() { return try finishStopped() }
                try finish(status: ExecutionStatus.superseded, summary: "superseded by a newer execution while it waited to enter \(stage.name)")
                return
            }
            // The stage is ours until it ends, whatever way it ends.
            defer { Task { await scheduler.leave(pipeline: execution.pipeline, stage: stage.name, executionId: executionId) } }
            try setStage(stage.name, index: index, status: ExecutionStatus.inProgress, execution: execution)
            var stageFailed = false, stopped = false
            var succeeded = index == retryIndex ? keep : []
            // onFailure RETRY: the stage's failed actions run once more before the stage fails.
            let rounds = stage.onFailureResult?.uppercased() == "RETRY" ? 2 : 1
            for round in 1...rounds {
                stageFailed = false
                for group in stage.runOrderGroups {
                    // Stop starts nothing new; what runs finishes (or, abandoned, is killed by `stop`).
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
                try setStage(stage.name, index: index, status: ExecutionStatus.stopped, execution: execution)
                return try finishStopped()
            }
            try setStage(stage.name, index: index, status: stageFailed ? ExecutionStatus.failed : ExecutionStatus.succeeded, execution: execution)
            try notes.update(executionId: executionId)
            if stageFailed {
                try finish(status: ExecutionStatus.failed, summary: "stage \(stage.name) failed" + (try onFailure(stage, execution: execution) ?? ""))
                return
            }
            // A ROLLBACK execution runs its one stage only.
            if execution.rollbackTarget != nil { break }
        }
        try finish(status: ExecutionStatus.succeeded, summary: nil)
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
        try store.read { try String.fetchOne($0, sql: "SELECT status FROM executions WHERE id = ?", arguments: [executionId]) } == ExecutionStatus.stopping
    }

    private func finishStopped() throws {
        try finish(status: ExecutionStatus.stopped, summary: try store.execution(id: executionId)?.statusSummary ?? "stopped")
    }

    /// Waits at the stage's entrance (recorded in the store, so `status` shows it), then enters.
    private func enter(_ stage: String, execution: ExecutionRecord, mode: ExecutionMode) async throws -> Bool {
        try store.write { db in try db.execute(sql: "UPDATE executions SET waitingStage = ? WHERE id = ?", arguments: [stage, executionId]) }
        let entered = await scheduler.enter(pipeline: execution.pipeline, stage: stage, executionId: executionId, number: execution.number, mode: mode)
        try store.write { db in try db.execute(sql: "UPDATE executions SET waitingStage = NULL WHERE id = ?", arguments: [executionId]) }
        return entered
    }

    private func setStage(_ name: String, index: Int, status: String, execution: ExecutionRecord) throws {
        let time = now()
        try store.write { db in
            if var stage = try StageRecord.fetchOne(db, key: ["executionId": executionId, "name": name]) {
                stage.status = status
                stage.endedAt = ExecutionStatus.terminal.contains(status) ? time : nil
                try stage.update(db)
            } else {
                try StageRecord(executionId: executionId, stageIndex: index, name: name, status: status, startedAt: time, endedAt: nil).insert(db)
            }
            try Events.record(db, Events.stageChange, execution: execution, status: status, stage: name, time: time)
        }
    }

    private func finish(status: String, summary: String?) throws {
        let time = now()
        try store.write { db in
            var execution = try ExecutionRecord.fetchOne(db, key: executionId)!
            execution.status = status
            // A rollback keeps saying what it rolled back to.
            execution.statusSummary = summary ?? (execution.rollbackTarget != nil ? execution.statusSummary : nil)
            execution.endedAt = time
            execution.startedAt = execution.startedAt ?? time
            execution.claimedBy = nil
            try execution.update(db)
            try Events.record(db, Events.pipelineChange, execution: execution, status: status, time: time)
        }
    }

    private func runAction(_ declared: Action, stage: Stage, execution: ExecutionRecord, declaration: PipelineDeclaration,
                           artifacts: [String: String]) async -> ActionOutcome {
        let action = declared
        let time = now()
        let logFolder = layout.logs + "/\(executionId)/\(stage.name)"
        let workFolder = layout.work + "/\(executionId)/\(stage.name)"
        var record: ActionRecord
        do {
            try FileManager.default.createDirectory(atPath: logFolder, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: workFolder, withIntermediateDirectories: true)
            record = try store.write { db -> ActionRecord in
                let attempt = (try Int.fetchOne(db, sql: "SELECT MAX(attempt) FROM actions WHERE executionId = ? AND stageName = ? AND actionName = ?",
                                                arguments: [executionId, stage.name, action.name]) ?? 0) + 1
                var record = ActionRecord(
                    id: nil, executionId: executionId, stageName: stage.name, actionName: action.name, category: action.category.rawValue,
                    provider: action.provider, runOrder: action.runOrder, attempt: attempt, status: ExecutionStatus.inProgress,
                    startedAt: time, endedAt: nil, processGroup: nil, logPath: logFolder + "/\(action.name).\(attempt).log",
                    summary: nil, errorMessage: nil, failedCommand: nil, outputVariables: nil, testReport: nil)
                try record.insert(db)
                try Events.record(db, Events.actionChange, execution: execution, status: ExecutionStatus.inProgress, stage: stage.name, action: record, time: time)
                return record
            }
        } catch {
            return .failure("cannot start the action: \(error)")
        }
        let attempt = record.attempt, logPath = record.logPath!
        func makeContext(_ action: Action) -> ActionContext {
            ActionContext(execution: execution, stage: stage, action: action, attempt: attempt, layout: layout, settings: settings,
                          artifacts: ArtifactStore(layout: layout), availableArtifacts: artifacts, logPath: logPath,
                          workspace: workFolder + "/\(action.name).\(attempt)")
        }
        let context = makeContext(action)
        _ = FileManager.default.createFile(atPath: context.logPath, contents: Data(describe(action).utf8))
        try? notes.update(executionId: executionId)

        // The running process group, so stop and recovery can signal it.
        let id = record.id!
        let recordGroup: (pid_t) throws -> Void = { pid in
            try store.write { db in try db.execute(sql: "UPDATE actions SET processGroup = ? WHERE id = ?", arguments: [Int(pid), id]) }
        }
        var outcome: ActionOutcome
        do {
            // Variables resolve just before the action starts, so earlier actions' outputs are there.
            let action = try VariableResolver.load(store: store, execution: execution, declaration: declaration).resolve(declared)
            let context = makeContext(action)
            switch action.provider {
            case "Git":
                outcome = try GitSourceProvider().run(context, store: store)
            case "Commands":
                outcome = try await CommandsProvider().run(context, onStart: recordGroup)
            case "Buildspec":
                outcome = try await BuildspecProvider().run(context, onStart: recordGroup)
            case "Directory":
                outcome = try await DirectoryDeploy().run(context, store: store, onStart: recordGroup)
            case "Command":
                outcome = try await InvokeProvider().run(context, onStart: recordGroup)
            case "Manual":
                outcome = try await ManualApproval().run(context, actionId: record.id!, store: store, notes: notes, now: now)
            default:
                outcome = .failure("provider \(action.provider) has no local equivalent; replace it with one of SPEC §6's providers to run it here")
            }
        } catch {
            outcome = .failure("\(error)")
        }
        if !outcome.succeeded {
            context.log("[git-pipeline] action \(action.name) failed: " + (outcome.failedCommand.map { "command `\($0)` — " } ?? "") + (outcome.errorMessage ?? ""))
        }
        let end = now()
        let final = outcome
        try? store.write { db in
            let abandoned = try String.fetchOne(db, sql: "SELECT stopMode FROM executions WHERE id = ? AND status = ?",
                                                arguments: [executionId, ExecutionStatus.stopping]) == "abandon"
            record.status = abandoned ? "Abandoned" : (final.succeeded ? ExecutionStatus.succeeded : ExecutionStatus.failed)
            record.endedAt = end
            record.summary = final.summary
            record.errorMessage = final.errorMessage
            record.failedCommand = final.failedCommand
            if !final.outputVariables.isEmpty {
                record.outputVariables = String(decoding: try JSONSerialization.data(withJSONObject: final.outputVariables, options: [.sortedKeys]), as: UTF8.self)
            }
            if let report = final.testReport {
                record.testReport = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
            }
            try record.update(db)
            for artifact in final.outputArtifacts {
                try ArtifactRecord(executionId: executionId, name: artifact.name, digest: artifact.digest, size: artifact.size).save(db)
            }
            try Events.record(db, Events.actionChange, execution: execution, status: record.status, stage: stage.name, action: record, time: end)
        }
        return outcome
    }

    /// The log's first lines: what the action runs (STYLE: logs start with the command).
    private func describe(_ action: Action) -> String {
        var text = "[git-pipeline] action \(action.name) (\(action.category.rawValue)/\(action.provider)), execution \(executionId)\n"
        let input = action.inputArtifacts.first ?? "no input"
        switch action.provider {
        case "Commands":
            text += "[git-pipeline] commands, in one bash session:\n" + action.commands.map { "[git-pipeline]   \($0)\n" }.joined()
        case "Buildspec":
            let spec = action.configuration["BuildSpec"] ?? action.configuration["buildspec"] ?? "buildspec.yml"
            text += "[git-pipeline] runs " + (spec.contains("\n") ? "the inline buildspec" : spec) + " from \(input), as CodeBuild would\n"
        case "Command":
            text += "[git-pipeline] runs `\(action.configuration["Command"] ?? "?")` with the job document on stdin\n"
        case "Directory":
            text += "[git-pipeline] deploys \(input) with its appspec.yml, as CodeDeploy in-place would\n"
        default: break
        }
        return text
    }
}
