import Foundation
import Git
import GRDB
import PipelineModel

/// The read side (SPEC §7): history, show, status and logs, as text and as CodePipeline's API shapes.
public struct Reports {
    let layout: StateLayout
    let store: Store

    public init(layout: StateLayout, store: Store) {
        self.layout = layout
        self.store = store
    }

    public static func json(_ object: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private func commitSummary(_ revision: String) -> String? {
        guard let repository = try? Repository(path: layout.gitDirectory), let id = ObjectID(hex: revision) else { return nil }
        return try? repository.commit(id).summary
    }

    private func trigger(_ e: ExecutionRecord) -> [String: Any] { ["triggerType": e.triggerType, "triggerDetail": e.triggerDetail] }

    // MARK: history

    /// ListPipelineExecutions' shape, plus `pipelineName` and `pipelineExecutionNumber` on each summary.
    public func historyJSON(pipeline: String?, limit: Int) throws -> [String: Any] {
        let summaries = try store.executions(pipeline: pipeline, limit: limit).map { e -> [String: Any] in
            var s: [String: Any] = [
                "pipelineName": e.pipeline, "pipelineExecutionNumber": e.number, "pipelineExecutionId": e.id,
                "status": e.status, "startTime": isoTime(e.startedAt ?? e.createdAt),
                "lastUpdateTime": isoTime(e.endedAt ?? e.startedAt ?? e.createdAt),
                "sourceRevisions": [["actionName": "Source", "revisionId": e.sourceRevision, "revisionSummary": commitSummary(e.sourceRevision) ?? ""]],
                "trigger": trigger(e), "executionMode": e.executionMode, "executionType": e.executionType,
            ]
            if let target = e.rollbackTarget { s["rollbackMetadata"] = ["rollbackTargetPipelineExecution": target] }
            if let summary = e.statusSummary { s["statusSummary"] = summary }
            return s
        }
        return ["pipelineExecutionSummaries": summaries]
    }

    public func historyText(pipeline: String?, limit: Int) throws -> String {
        let rows = try store.executions(pipeline: pipeline, limit: limit)
        if rows.isEmpty { return "no executions yet: push a commit with a .pipeline.yml\n" }
        return rows.map { e in
            let duration = e.startedAt.map { NoteRenderer.duration((e.endedAt ?? Date().timeIntervalSince1970) - $0, precise: false) } ?? "-"
            return "\(e.label.padding(toLength: 14, withPad: " ", startingAt: 0)) \(e.status.padding(toLength: 11, withPad: " ", startingAt: 0)) " +
                "\(e.refShortName)@\(e.sourceRevision.prefix(7))  \(duration)  \(isoTime(e.createdAt))  \(e.id)"
        }.joined(separator: "\n") + "\n"
    }

    // MARK: show

    /// GetPipelineExecution's shape, plus the execution's `stageStates` (each with `actionStates`).
    public func showJSON(_ e: ExecutionRecord) throws -> [String: Any] {
        let stages = try store.stages(of: e.id)
        let actions = try store.actions(of: e.id)
        let artifacts = try store.artifacts(of: e.id)
        var execution: [String: Any] = [
            "pipelineName": e.pipeline, "pipelineVersion": 1, "pipelineExecutionId": e.id, "pipelineExecutionNumber": e.number,
            "status": e.status, "executionMode": e.executionMode, "executionType": e.executionType, "trigger": trigger(e),
            "startTime": isoTime(e.startedAt ?? e.createdAt), "lastUpdateTime": isoTime(e.endedAt ?? e.startedAt ?? e.createdAt),
            "artifactRevisions": [["name": "SourceArtifact", "revisionId": e.sourceRevision, "revisionSummary": commitSummary(e.sourceRevision) ?? ""]],
            "ref": e.ref, "definitionPath": e.definitionPath,
            "artifacts": artifacts.map { ["name": $0.name, "digest": "sha256:" + $0.digest, "size": $0.size] },
        ]
        if let summary = e.statusSummary { execution["statusSummary"] = summary }
        if let target = e.rollbackTarget { execution["rollbackMetadata"] = ["targetPipelineExecutionId": target] }
        if let error = e.definitionError { execution["definitionErrors"] = error.split(separator: "\n").map(String.init) }
        let stageStates = stages.map { stage -> [String: Any] in
            [
                "stageName": stage.name,
                "latestExecution": ["pipelineExecutionId": e.id, "status": stage.status],
                "actionStates": actions.filter { $0.stageName == stage.name }.map(actionState),
            ]
        }
        return ["pipelineExecution": execution, "stageStates": stageStates]
    }

    func actionState(_ a: ActionRecord) -> [String: Any] {
        var latest: [String: Any] = [
            "actionExecutionId": "\(a.executionId):\(a.id ?? 0)", "status": a.status, "attempt": a.attempt,
            "lastStatusChange": isoTime(a.endedAt ?? a.startedAt ?? 0),
        ]
        if let summary = a.summary { latest["summary"] = summary }
        if a.status == ExecutionStatus.failed {
            latest["errorDetails"] = ["code": "JobFailed", "message": (a.failedCommand.map { "command `\($0)` failed: " } ?? "") + (a.errorMessage ?? "")]
        }
        if let log = a.logPath { latest["logPath"] = log }
        if let json = a.testReport, let report = try? JSONSerialization.jsonObject(with: Data(json.utf8)) { latest["testReport"] = report }
        if let variables = a.outputVariables, let object = try? JSONSerialization.jsonObject(with: Data(variables.utf8)) {
            latest["outputVariables"] = object
        }
        return ["actionName": a.actionName, "latestExecution": latest]
    }

    public func showText(_ e: ExecutionRecord, notesName: String) throws -> String {
        let record = try NotesWriter(layout: layout, settings: PipelineSettings(), store: store).record(executionId: e.id)
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
        executions.lazy.compactMap { $0.definitionJSON }.first.flatMap {
            try? JSONDecoder().decode(PipelineDeclaration.self, from: Data($0.utf8))
        }
    }

    /// GetPipelineState's shape for one pipeline, from its declaration in the latest execution.
    public func statusJSON(pipeline: String) throws -> [String: Any] {
        let executions = try store.executions(pipeline: pipeline, limit: 200)
        guard let latest = executions.first else { throw StoreError.notFound("no pipeline \(pipeline) (no executions yet)") }
        let declaration = Self.latestDeclaration(executions)
        let stageNames = try declaration?.stages.map(\.name) ?? (store.stages(of: latest.id).map(\.name))
        let inProgress = executions.filter { $0.status == ExecutionStatus.inProgress }
        var stageStates: [[String: Any]] = []
        for (index, name) in stageNames.enumerated() {
            let last = try store.read { db in
                try Row.fetchOne(db, sql: """
                    SELECT s.executionId, s.status FROM stages s JOIN executions e ON e.id = s.executionId
                    WHERE e.pipeline = ? AND s.name = ? ORDER BY s.startedAt DESC LIMIT 1
                    """, arguments: [pipeline, name])
            }
            var state: [String: Any] = ["stageName": name, "inboundTransitionState": try store.read { try Transitions.state($0, pipeline: pipeline, stage: name) }]
            // Inbound: waiting at this stage's entrance (or, for the first, not picked up by a runner yet).
            let inbound = inProgress.filter { $0.waitingStage == name || (index == 0 && $0.claimedBy == nil) }.sorted { $0.number < $1.number }
            state["inboundExecutions"] = inbound.map { ["pipelineExecutionId": $0.id, "status": $0.status, "pipelineExecutionNumber": $0.number] }
            if let last {
                let executionId: String = last["executionId"]
                state["latestExecution"] = ["pipelineExecutionId": executionId, "status": last["status"] as String]
                let actions = try store.actions(of: executionId).filter { $0.stageName == name }
                var latestByAction: [String: ActionRecord] = [:]
                for a in actions { latestByAction[a.actionName] = a }
                state["actionStates"] = latestByAction.values.sorted { $0.runOrder < $1.runOrder || ($0.runOrder == $1.runOrder && $0.actionName < $1.actionName) }.map(actionState)
            } else {
                state["actionStates"] = (declaration?.stages[index].actions ?? []).map { ["actionName": $0.name] }
            }
            stageStates.append(state)
        }
        // Not in GetPipelineState: the deploy ledger, one entry per Directory target.
        let deployments: [[String: Any]] = try DeployLedger(store: store).targets(pipeline: pipeline).map { target, live, before in
            var entry: [String: Any] = [
                "target": target, "deploymentId": live.id, "revision": live.revision, "pipelineExecutionId": live.executionId,
                "execution": live.executionLabel, "kind": live.kind, "status": live.status, "liveSince": isoTime(live.liveSince ?? live.startedAt),
            ]
            if let before { entry["previous"] = ["deploymentId": before.id, "revision": before.revision, "execution": before.executionLabel] }
            return entry
        }
        return [
            "deployments": deployments,
            "pipelineName": pipeline, "pipelineVersion": 1, "stageStates": stageStates,
            "created": isoTime(executions.last?.createdAt ?? latest.createdAt), "updated": isoTime(latest.endedAt ?? latest.createdAt),
        ]
    }

    /// The pipeline drawn as boxes, one per stage, top to bottom.
    public func statusText(pipeline: String) throws -> String {
        let state = try statusJSON(pipeline: pipeline)
        let latest = try store.executions(pipeline: pipeline, limit: 1).first!
        var out = "\(pipeline)  latest \(latest.label) \(latest.status) on \(latest.refShortName)@\(latest.sourceRevision.prefix(7))\n"
        let stages = state["stageStates"] as! [[String: Any]]
        let width = 58
        for (index, stage) in stages.enumerated() {
            if let inbound = stage["inboundExecutions"] as? [[String: Any]], !inbound.isEmpty {
                out += "   waiting: " + inbound.map { "#\($0["pipelineExecutionNumber"]!)" }.joined(separator: ", ") + "\n"
            }
            let transition = stage["inboundTransitionState"] as? [String: Any]
            if transition?["enabled"] as? Bool == false {
                out += "   ✕ transition disabled" + ((transition?["disabledReason"] as? String).map { ": \($0)" } ?? "") + "\n"
            } else if index > 0 {
                out += "   │\n   ▼\n"
            }
            let name = stage["stageName"] as! String
            let latestExecution = stage["latestExecution"] as? [String: Any]
            let number = (latestExecution?["pipelineExecutionId"] as? String).flatMap { try? store.execution(id: $0) }.map { " #\($0.number)" } ?? ""
            let status = (latestExecution?["status"] as? String).map { $0 + number } ?? "not run yet"
            let title = " \(name) "
            out += "┌─" + title + String(repeating: "─", count: max(1, width - title.count - status.count - 6)) + " " + status + " ─┐\n"
            for action in stage["actionStates"] as? [[String: Any]] ?? [] {
                let actionName = action["actionName"] as! String
                let l = action["latestExecution"] as? [String: Any]
                var line = "  " + actionName.padding(toLength: 18, withPad: " ", startingAt: 0) + ((l?["status"] as? String) ?? "—")
                if let error = (l?["errorDetails"] as? [String: Any])?["message"] as? String { line += "  " + error }
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

    /// An event in EventBridge's envelope (`detail-type`, `source`, `time`, `detail`), one JSON line.
    public static func eventJSON(_ event: EventRecord) -> String {
        let detail = (try? JSONSerialization.jsonObject(with: Data(event.detail.utf8))) ?? [:]
        let envelope: [String: Any] = [
            "version": "0", "id": "\(event.id ?? 0)", "detail-type": event.detailType, "source": "aws.codepipeline",
            "account": "local", "region": "local", "time": isoTime(event.time), "resources": [], "detail": detail,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// `time  pipeline #n  [stage [action]]  STATE` for people.
    public func eventText(_ event: EventRecord) -> String {
        let detail = ((try? JSONSerialization.jsonObject(with: Data(event.detail.utf8))) as? [String: Any]) ?? [:]
        let number = (try? store.execution(id: event.executionId))?.map { " #\($0.number)" } ?? ""
        var text = "\(isoTime(event.time))  \(detail["pipeline"] as? String ?? "?")\(number)"
        if let stage = detail["stage"] as? String { text += "  \(stage)" }
        if let action = detail["action"] as? String { text += "/\(action)" }
        return text + "  \(detail["state"] as? String ?? "?")"
    }

    // MARK: logs

    /// The logs of an execution's actions (one action's with `action`), in the order they ran.
    public func logs(_ e: ExecutionRecord, action: String?) throws -> String {
        let actions = try store.actions(of: e.id).filter { action == nil || $0.actionName == action }
        if actions.isEmpty {
            if let action { throw StoreError.notFound("\(e.label) has no action \(action) (actions: \(try store.actions(of: e.id).map(\.actionName).joined(separator: ", ")))") }
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
