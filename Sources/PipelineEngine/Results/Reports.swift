import Foundation
import Git
import GRDB
import PipelineModel

/// The read side (SPEC §7): history, show, status and logs, as text and as CodePipeline's API shapes.
public struct Reports: Sendable {
    let layout: StateLayout
    let store: Store
    let clock: any WallClock

    public init(layout: StateLayout, store: Store, clock: any WallClock = SystemClock()) {
        self.layout = layout
        self.store = store
        self.clock = clock
    }

    /// A view as the `--json` output prints it.
    public static func json(_ view: some Encodable) -> String { jsonText(view, pretty: true) }

    private func commitSummary(_ revision: String) -> String? {
        guard let repository = try? Repository(path: layout.gitDirectory), let id = ObjectID(hex: revision) else { return nil }
        return try? repository.commit(id).summary
    }

    private func trigger(_ e: ExecutionRecord) -> ExecutionTrigger { ExecutionTrigger(triggerType: e.triggerType, triggerDetail: e.triggerDetail) }

    // MARK: history

    /// ListPipelineExecutions' shape, plus `pipelineName` and `pipelineExecutionNumber` on each summary.
    public func historyJSON(pipeline: String?, limit: Int) throws -> ListPipelineExecutionsOutput {
        ListPipelineExecutionsOutput(pipelineExecutionSummaries: try store.executions(pipeline: pipeline, limit: limit).map(summary))
    }

    /// PipelineExecutionSummary, plus `pipelineName` and `pipelineExecutionNumber`.
    func summary(_ e: ExecutionRecord) -> PipelineExecutionSummary {
        PipelineExecutionSummary(
            pipelineName: e.pipeline, pipelineExecutionNumber: e.number, pipelineExecutionId: e.id, status: e.status.rawValue,
            statusSummary: e.statusSummary, startTime: isoTime(e.startedAt ?? e.createdAt),
            lastUpdateTime: isoTime(e.endedAt ?? e.startedAt ?? e.createdAt),
            sourceRevisions: [SourceRevision(actionName: "Source", revisionId: e.sourceRevision, revisionSummary: commitSummary(e.sourceRevision) ?? "")],
            trigger: trigger(e), executionMode: e.executionMode, executionType: e.executionType,
            rollbackMetadata: e.rollbackTarget.map { RollbackMetadata(rollbackTargetPipelineExecutionId: $0) },
            // Asked to stop (Stopping or Stopped): the reason given, else who stopped it.
            stopTrigger: e.stopMode == nil ? nil : StopTrigger(reason: e.stopReason ?? e.statusSummary ?? "stopped"))
    }

    /// The pipeline-level variables of an execution as it resolved them: each declared variable
    /// with its value given at start, else its default (ResolvedPipelineVariable).
    static func resolvedVariables(_ e: ExecutionRecord) -> [ResolvedPipelineVariable] {
        e.declaration.map { e.pipelineVariables(of: $0).map { ResolvedPipelineVariable(name: $0.name, resolvedValue: $0.value) } } ?? []
    }

    public func historyText(pipeline: String?, limit: Int) throws -> String {
        let rows = try store.executions(pipeline: pipeline, limit: limit)
        if rows.isEmpty { return "no executions yet: push a commit with a .pipeline.yml\n" }
        // The label column as wide as the longest label: padding(toLength:) would cut a long
        // pipeline name, and its number with it.
        let width = max(14, rows.map(\.label.count).max() ?? 0)
        return rows.map { e in
            let duration = e.startedAt.map { NoteRenderer.duration((e.endedAt ?? clock.now()) - $0, precise: false) } ?? "-"
            return "\(e.label.padding(toLength: width, withPad: " ", startingAt: 0)) \(e.status.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) " +
                "\(e.refShortName)@\(e.sourceRevision.prefix(7))  \(duration)  \(isoTime(e.createdAt))  \(e.id)"
        }.joined(separator: "\n") + "\n"
    }

    // MARK: show

    /// GetPipelineExecution's shape, plus the execution's `stageStates` (each with `actionStates`).
    public func showJSON(_ e: ExecutionRecord) throws -> GetPipelineExecutionOutput {
        let stages = try store.stages(of: e.id)
        let actions = try store.actions(of: e.id)
        let artifacts = try store.artifacts(of: e.id)
        let execution = PipelineExecution(
            pipelineName: e.pipeline, pipelineVersion: e.pipelineVersion ?? 1, pipelineExecutionId: e.id, pipelineExecutionNumber: e.number, status: e.status.rawValue,
            statusSummary: e.statusSummary, executionMode: e.executionMode, executionType: e.executionType, trigger: trigger(e),
            artifactRevisions: [ArtifactRevision(name: "SourceArtifact", revisionId: e.sourceRevision, revisionSummary: commitSummary(e.sourceRevision) ?? "")],
            variables: Self.resolvedVariables(e),
            rollbackMetadata: e.rollbackTarget.map { RollbackMetadata(rollbackTargetPipelineExecutionId: $0) },
            ref: e.ref, definitionPath: e.definitionPath, definitionErrors: e.definitionError.map { $0.split(separator: "\n").map(String.init) },
            artifacts: artifacts.map { StoredArtifact(name: $0.name, digest: "sha256:" + $0.digest, size: $0.size) })
        let stageStates = stages.map { stage in
            StageState(stageName: stage.name, latestExecution: StageExecution(pipelineExecutionId: e.id, status: stage.status.rawValue),
                       actionStates: actions.filter { $0.stageName == stage.name }.map(actionState))
        }
        return GetPipelineExecutionOutput(pipelineExecution: execution, pipelineExecutionSummary: summary(e), stageStates: stageStates)
    }

    func actionState(_ a: ActionRecord) -> ActionState {
        let latest = ActionExecution(
            actionExecutionId: "\(a.executionId):\(a.id ?? 0)", status: a.status.rawValue, attempt: a.attempt,
            lastStatusChange: isoTime(a.endedAt ?? a.startedAt ?? 0), summary: a.summary,
            errorDetails: a.status == .failed
                ? ErrorDetails(code: "JobFailed", message: (a.failedCommand.map { "command `\($0)` failed: " } ?? "") + (a.errorMessage ?? "")) : nil,
            logPath: a.logPath,
            testReport: a.testReport.flatMap { try? JSONDecoder().decode(TestReport.self, from: Data($0.utf8)) },
            outputVariables: a.outputVariables.flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) })
        return ActionState(actionName: a.actionName, latestExecution: latest)
    }

    public func showText(_ e: ExecutionRecord, notesName: String) throws -> String {
        let record = try NotesWriter(layout: layout, settings: PipelineSettings(), store: store, clock: clock).record(executionId: e.id)
        var text = record.map { NoteRenderer.block($0, notesName: notesName) } ?? ""
        text += "  execution \(e.id), trigger \(e.triggerType) \(e.triggerDetail)\n"
        for action in try store.actions(of: e.id) {
            text += "  \(action.stageName)/\(action.actionName) attempt \(action.attempt): \(action.status)"
            if let log = action.logPath { text += "  log \(log)" }
            text += "\n"
            if let json = action.testReport, let report = try? JSONDecoder().decode(TestReport.self, from: Data(json.utf8)) {
                text += "    \(report.summary)\n"
                for failure in report.failures { text += "    failed: \(failure.name)" + (failure.message.map { " — \($0)" } ?? "") + "\n" }
            }
        }
        return text
    }

    // MARK: status

    /// The stages of a pipeline, from the declaration of its latest execution that had one.
    public func stageNames(pipeline: String) throws -> [String] {
        let executions = try store.executions(pipeline: pipeline, limit: 200)
        guard !executions.isEmpty else { throw StoreError.notFound("no pipeline \(pipeline) (no executions yet)") }
        return Self.latestDeclaration(executions)?.stages.map(\.name) ?? []
    }

    /// The declaration of the newest of `executions` (newest first) that had a valid one.
    static func latestDeclaration(_ executions: [ExecutionRecord]) -> PipelineDeclaration? {
        executions.first { $0.definitionJSON != nil }?.declaration
    }

    /// GetPipelineState's shape for one pipeline, from its declaration in the latest execution.
    public func statusJSON(pipeline: String) throws -> GetPipelineStateOutput {
        let executions = try store.executions(pipeline: pipeline, limit: 200)
        guard let latest = executions.first else { throw StoreError.notFound("no pipeline \(pipeline) (no executions yet)") }
        let declaration = Self.latestDeclaration(executions)
        let stageNames = try declaration?.stages.map(\.name) ?? (store.stages(of: latest.id).map(\.name))
        let inProgress = executions.filter { $0.status == .inProgress }
        var stageStates: [StageState] = []
        for (index, name) in stageNames.enumerated() {
            let last = try store.read { db in
                try Row.fetchOne(db, sql: """
                    SELECT s.executionId, s.status FROM stages s JOIN executions e ON e.id = s.executionId
                    WHERE e.pipeline = ? AND s.name = ? ORDER BY s.startedAt DESC LIMIT 1
                    """, arguments: [pipeline, name])
            }
            // Inbound: waiting at this stage's entrance (or, for the first, not picked up by a runner yet).
            let inbound = inProgress.filter { $0.waitingStage == name || (index == 0 && $0.claimedBy == nil) }.sorted { $0.number < $1.number }
            var state = StageState(
                // The first stage has no inbound transition (GetPipelineState leaves it out there).
                stageName: name, inboundTransitionState: index == 0 ? nil : try store.read { try Transitions.state($0, pipeline: pipeline, stage: name) },
                inboundExecutions: inbound.map { InboundExecution(pipelineExecutionId: $0.id, status: $0.status.rawValue, pipelineExecutionNumber: $0.number) },
                latestExecution: nil, actionStates: [])
            if let last {
                let executionId: String = last["executionId"]
                state.latestExecution = StageExecution(pipelineExecutionId: executionId, status: last["status"])
                let actions = try store.actions(of: executionId).filter { $0.stageName == name }
                var latestByAction: [String: ActionRecord] = [:]
                for a in actions { latestByAction[a.actionName] = a }
                state.actionStates = latestByAction.values.sorted { $0.runOrder < $1.runOrder || ($0.runOrder == $1.runOrder && $0.actionName < $1.actionName) }.map(actionState)
            } else {
                state.actionStates = (declaration?.stages[index].actions ?? []).map { ActionState(actionName: $0.name, latestExecution: nil) }
            }
            stageStates.append(state)
        }
        let deployments = try DeployLedger(store: store).targets(pipeline: pipeline).map { target, live, before in
            DeploymentState(target: target, deploymentId: live.id, revision: live.revision, pipelineExecutionId: live.executionId,
                            execution: live.executionLabel, kind: live.kind, status: live.status, liveSince: isoTime(live.liveSince ?? live.startedAt),
                            previous: before.map { PreviousDeployment(deploymentId: $0.id, revision: $0.revision, execution: $0.executionLabel) })
        }
        return GetPipelineStateOutput(pipelineName: pipeline, pipelineVersion: executions.first?.pipelineVersion ?? 1, stageStates: stageStates,
                                      created: isoTime(executions.last?.createdAt ?? latest.createdAt),
                                      updated: isoTime(latest.endedAt ?? latest.createdAt), deployments: deployments)
    }

    /// The pipeline drawn as boxes, one per stage, top to bottom.
    public func statusText(pipeline: String) throws -> String {
        let state = try statusJSON(pipeline: pipeline)
        let latest = try store.executions(pipeline: pipeline, limit: 1).first!
        var out = "\(pipeline)  latest \(latest.label) \(latest.status) on \(latest.refShortName)@\(latest.sourceRevision.prefix(7))\n"
        let width = 58
        for (index, stage) in state.stageStates.enumerated() {
            if let inbound = stage.inboundExecutions, !inbound.isEmpty {
                out += "   waiting: " + inbound.map { "#\($0.pipelineExecutionNumber)" }.joined(separator: ", ") + "\n"
            }
            if let transition = stage.inboundTransitionState, !transition.enabled {
                out += "   ✕ transition disabled" + (transition.disabledReason.map { ": \(Sanitized.text($0))" } ?? "") + "\n"
            } else if index > 0 {
                out += "   │\n   ▼\n"
            }
            let number = stage.latestExecution.flatMap { try? store.execution(id: $0.pipelineExecutionId) }.map { " #\($0.number)" } ?? ""
            let status = stage.latestExecution.map { $0.status + number } ?? "not run yet"
            let title = " \(stage.stageName) "
            out += "┌─" + title + String(repeating: "─", count: max(1, width - title.count - status.count - 6)) + " " + status + " ─┐\n"
            for action in stage.actionStates {
                var line = "  " + action.actionName.padding(toLength: 18, withPad: " ", startingAt: 0) + (action.latestExecution?.status ?? "—")
                if let error = action.latestExecution?.errorDetails?.message { line += "  " + Sanitized.text(error) }
                if line.count > width - 2 { line = String(line.prefix(width - 3)) + "…" }
                out += "│" + line.padding(toLength: width - 2, withPad: " ", startingAt: 0) + "│\n"
            }
            out += "└" + String(repeating: "─", count: width - 2) + "┘\n"
        }
        for (target, live, before) in try DeployLedger(store: store).targets(pipeline: pipeline) {
            out += "deployed to \(target): " + DeployLedger.describe(live, before: before) + "\n"
        }
        return out
    }

    // MARK: events

    /// Events after `afterId`, oldest first.
    public func events(after afterId: Int64, limit: Int = 1000) throws -> [EventRecord] {
        try store.read { db in
            try EventRecord.filter(Column("id") > afterId).order(Column("id")).limit(limit).fetchAll(db)
        }
    }

    /// The store's number of the last event before `since` (for `events --since`): an event's `id`
    /// (its UUID, as `--json` prints it: from that event on), or a time (ISO 8601, as the events
    /// print it, or seconds since 1970: the events from then on). nil when it names nothing.
    public func eventNumber(before since: String) throws -> Int64? {
        if let seconds = Double(since) ?? ISO8601DateFormatter().date(from: since)?.timeIntervalSince1970 {
            return try store.read { db in
                try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM events WHERE time < ?", arguments: [seconds])
            }
        }
        let wanted = since.lowercased()
        var after: Int64 = 0
        while true {
            let batch = try events(after: after)
            guard !batch.isEmpty else { return nil }
            for event in batch {
                if Self.eventUUID(layout.gitDirectory + "\n" + event.executionId + "\n\(event.id ?? 0)") == wanted { return (event.id ?? 1) - 1 }
            }
            after = batch.last?.id ?? after
        }
    }

    /// The number of the newest event (0 when there is none).
    public func lastEventNumber() throws -> Int64 {
        try store.read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM events") ?? 0 }
    }

    /// An event in EventBridge's envelope (`detail-type`, `source`, `time`, `detail`), one JSON line:
    /// `id` a UUID, the same each time the event is read (made from the repository, the execution and
    /// the event's number); `resources` the pipeline's ARN-like name, `arn:git-pipeline:local:REPO:PIPELINE`.
    public func eventJSON(_ event: EventRecord) -> String {
        let detail = (try? JSONDecoder().decode(JSONValue.self, from: Data(event.detail.utf8))) ?? .object([:])
        let pipeline = detail["pipeline"]?.string ?? detail["requestParameters"]?["pipelineName"]?.string
        return jsonText(EventEnvelope(version: "0", id: Self.eventUUID(layout.gitDirectory + "\n" + event.executionId + "\n\(event.id ?? 0)"),
                                      detailType: event.detailType, source: "aws.codepipeline", account: "local", region: "local",
                                      time: isoTime(event.time), resources: pipeline.map { [Self.arn(repository: layout.repositoryName, pipeline: $0)] } ?? [],
                                      detail: detail), pretty: false)
    }

    /// The pipeline's ARN-like name: CodePipeline's `arn:aws:codepipeline:REGION:ACCOUNT:NAME`, with
    /// the repository where the account would be.
    public static func arn(repository: String, pipeline: String) -> String { "arn:git-pipeline:local:\(repository):\(pipeline)" }

    /// A UUID (RFC 9562 version 8, name-based) from the first 16 bytes of `name`'s SHA-256.
    static func eventUUID(_ name: String) -> String {
        var digest = SHA256()
        digest.update(Array(name.utf8))
        var hex = Array(digest.finalizeHex().prefix(32))
        hex[12] = "8"  // version 8
        hex[16] = ["8", "9", "a", "b"][Int(String(hex[16]), radix: 16)! & 3]  // the RFC's variant
        let text = String(hex)
        let parts = [text.prefix(8), text.dropFirst(8).prefix(4), text.dropFirst(12).prefix(4), text.dropFirst(16).prefix(4), text.dropFirst(20)]
        return parts.joined(separator: "-")
    }

    /// `time  pipeline #n  [stage [action]]  STATE` for people.
    public func eventText(_ event: EventRecord) -> String {
        let detail = (try? JSONDecoder().decode(JSONValue.self, from: Data(event.detail.utf8))) ?? .null
        let number = (try? store.execution(id: event.executionId))?.map { " #\($0.number)" } ?? ""
        if event.detailType == Audit.detailType {
            let parameters = detail["requestParameters"]
            var text = "\(isoTime(event.time))  \(parameters?["pipelineName"]?.string ?? "?")\(number)  \(detail["eventName"]?.string ?? "?")" +
                " by \(detail["userIdentity"]?["userName"]?.string ?? "?")"
            if let stage = parameters?["stageName"]?.string { text += "  \(stage)" + (parameters?["actionName"]?.string.map { "/\($0)" } ?? "") }
            if let error = detail["errorMessage"]?.string { text += "  REFUSED: \(Sanitized.text(error))" }
            return text
        }
        var text = "\(isoTime(event.time))  \(detail["pipeline"]?.string ?? "?")\(number)"
        if let stage = detail["stage"]?.string { text += "  \(stage)" }
        if let action = detail["action"]?.string { text += "/\(action)" }
        return text + "  \(detail["state"]?.string ?? "?")"
    }

    // MARK: logs

    /// The logs of an execution's actions (one action's with `action`), in the order they ran.
    public func logs(_ e: ExecutionRecord, action: String?) throws -> String {
        let actions = try store.actions(of: e.id).filter { action == nil || $0.actionName == action }
        if actions.isEmpty {
            if let action {
                let names = try store.actions(of: e.id).map(\.actionName)
                throw StoreError.notFound("\(e.label) has no action \(action) " + (names.isEmpty ? "(it ran none: \(e.status.rawValue))" : "(actions: \(names.joined(separator: ", ")))"))
            }
            return e.definitionError.map { "no action ran: \($0)\n" } ?? "no action has run yet\n"
        }
        var out = ""
        for a in actions {
            if action == nil || actions.count > 1 { out += "==> \(a.stageName)/\(a.actionName) attempt \(a.attempt): \(a.status) <==\n" }
            // Lossy: a build may print bytes that are not UTF-8; the rest of its log still shows.
            out += a.logPath.flatMap { FileManager.default.contents(atPath: $0) }.map { String(decoding: $0, as: UTF8.self) } ?? "(no log)\n"
        }
        return out
    }
}
