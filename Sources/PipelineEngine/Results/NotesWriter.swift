import Foundation
import Git
import PipelineModel
import Synchronization

/// Writes an execution's state into the notes of its source commit: the record line into the
/// records ref, then the human-readable note, drawn from all records of that commit.
public final class NotesWriter: Sendable {
    let layout: StateLayout
    let settings: PipelineSettings
    let store: Store
    let clock: any WallClock
    /// Serialises this process's writers; other processes are handled by compare-and-swap.
    private let lock = Mutex(())
    /// The stage and action names each execution declares, decoded once per execution (its
    /// definition never changes), not on every note write.
    private let layouts = Mutex<[String: [(stage: String, actions: [String])]]>([:])
    /// Executions whose note waits for the next coalesced write (`updateSoon`), and whether one is due.
    private let pending = Mutex<(dirty: Set<String>, scheduled: Bool)>(([], false))

    public init(layout: StateLayout, settings: PipelineSettings, store: Store, clock: any WallClock = SystemClock()) {
        self.layout = layout
        self.settings = settings
        self.store = store
        self.clock = clock
    }

    public var notesName: String { settings.notesName }

    /// The record of an execution as it stands in the store.
    public func record(executionId: String) throws -> NoteRecord? {
        guard let execution = try store.execution(id: executionId) else { return nil }
        let now = clock.now()
        let stages = try store.stages(of: executionId)
        let actions = try store.actions(of: executionId)
        let revision = try store.read { try Int64.fetchOne($0, sql: "SELECT COALESCE(MAX(id), 0) FROM events WHERE executionId = ?", arguments: [executionId]) } ?? 0
        var stageNames: [String] = stages.map(\.name)
        var declared: [String: [String]] = [:]
        if let names = declaredNames(execution) {
            stageNames = names.map(\.stage)
            for stage in names { declared[stage.stage] = stage.actions }
        }
        let noteStages = stageNames.map { name -> NoteRecord.Stage in
            let stage = stages.first { $0.name == name }
            var names = declared[name] ?? []
            for action in actions where action.stageName == name && !names.contains(action.actionName) { names.append(action.actionName) }
            let noteActions = names.map { actionName -> NoteRecord.Action in
                // The latest attempt of each action speaks for it.
                let latest = actions.last { $0.stageName == name && $0.actionName == actionName }
                return NoteRecord.Action(name: actionName, status: latest?.status.rawValue, attempt: latest?.attempt,
                                         durationSeconds: latest?.duration(now: now).map { ($0 * 10).rounded() / 10 },
                                         summary: latest?.summary, errorMessage: latest?.errorMessage, failedCommand: latest?.failedCommand)
            }
            return NoteRecord.Stage(name: name, status: stage?.status.rawValue, actions: noteActions)
        }
        let start = execution.startedAt ?? execution.createdAt
        let end = execution.endedAt
        var record = NoteRecord(
            schema: NoteRecord.schemaVersion, revision: revision, pipeline: execution.pipeline, pipelineExecutionId: execution.id,
            number: execution.number, status: execution.status.rawValue, statusSummary: execution.statusSummary,
            executionMode: execution.executionMode, ref: execution.ref, commit: execution.sourceRevision,
            triggerType: execution.triggerType, startTime: isoTime(start), endTime: end.map(isoTime),
            lastUpdateTime: isoTime(end ?? clock.now()),
            durationSeconds: ((end ?? clock.now()) - start).rounded(),
            definitionPath: execution.definitionPath, definitionError: execution.definitionError,
            sourceArtifact: execution.sourceArtifactDigest, stages: noteStages)
        if !settings.sandbox && !actions.isEmpty {
            record.warnings = ["warning: actions ran without the sandbox (pipeline.sandbox=false), with the runner's access to this server; " +
                               "their results can have been changed by the code they ran"]
        }
        return record
    }

    private func declaredNames(_ execution: ExecutionRecord) -> [(stage: String, actions: [String])]? {
        if let known = layouts.withLock({ $0[execution.id] }) { return known }
        guard let declaration = execution.declaration else { return nil }
        let names = declaration.stages.map { (stage: $0.name, actions: $0.actions.map(\.name)) }
        layouts.withLock { cache in
            if cache.count > 1000 { cache.removeAll() }  // a long-lived runner's: bounded
            cache[execution.id] = names
        }
        return names
    }

    /// Brings the note up to date within `delay` seconds, in one write with every other execution
    /// asked for meanwhile: an action's start is shown without a note commit per action (50
    /// actions one after the other made 50). Stage and execution ends still write at once (`update`).
    public func updateSoon(executionId: String, delay: Double = 0.25) {
        let schedule = pending.withLock { state -> Bool in
            state.dirty.insert(executionId)
            if state.scheduled { return false }
            state.scheduled = true
            return true
        }
        guard schedule else { return }
        Task.detached { [self] in
            try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
            let due = pending.withLock { state -> Set<String> in
                let due = state.dirty
                state = ([], false)
                return due
            }
            for id in due { try? update(executionId: id) }
        }
    }

    /// Brings both notes of the execution's commit up to date with the store.
    public func update(executionId: String) throws {
        _ = pending.withLock { $0.dirty.remove(executionId) }
        guard let record = try record(executionId: executionId), let commit = ObjectID(hex: record.commit) else { return }
        try lock.withLock { _ in try write(record, commit: commit) }
    }

    private func write(_ record: NoteRecord, commit: ObjectID) throws {
        let repository = try Repository(path: layout.gitDirectory)
        let author = Signature(name: "git-pipeline", email: "git-pipeline@localhost", time: Int64(clock.now()))
        let existing = try repository.note(settings.recordsRef, on: commit) ?? ""
        var lines = existing.split(separator: "\n").map(String.init).filter { line in
            // Replace this execution's older lines; keep everything else (other executions, other mirrors).
            !(line.contains("\"pipelineExecutionId\":\"\(record.pipelineExecutionId)\"")
              && (NoteRecord.parse(line).first?.revision ?? 0) <= record.revision)
        }
        lines.append(record.jsonLine())
        lines.sort()
        let recordsText = lines.joined(separator: "\n") + "\n"
        let message = "\(record.label) \(record.status)"
        try repository.updateNotes(settings.recordsRef, [(commit, recordsText)], message: message, author: author)
        let human = NoteRenderer.render(NoteRecord.parse(recordsText), notesName: notesName)
        try repository.updateNotes(settings.notesRef, [(commit, human)], message: message, author: author)
        try store.write { db in
            try db.execute(sql: "UPDATE executions SET notedRevision = MAX(COALESCE(notedRevision, 0), ?) WHERE id = ?",
                           arguments: [record.revision, record.pipelineExecutionId])
        }
    }
}
