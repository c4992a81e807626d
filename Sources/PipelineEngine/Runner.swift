import Foundation
import GRDB
import PipelineHook

/// The background runner: one per repository (an flock on `runner.lock`), started by the hook,
/// gone after a short idle time. It claims waiting executions and runs them; on start it recovers
/// whatever a previous runner left behind.
public final class Runner: @unchecked Sendable {
    let layout: StateLayout
    let settings: PipelineSettings
    let store: Store
    let notes: NotesWriter
    let now: @Sendable () -> Double
    private var lockDescriptor: Int32 = -1
    private let active = ActiveExecutions()
    private let scheduler = StageScheduler()

    public init(layout: StateLayout, settings: PipelineSettings, now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws {
        self.layout = layout
        self.settings = settings
        self.now = now
        store = try Store(path: layout.database)
        notes = NotesWriter(layout: layout, settings: settings, store: store)
    }

    /// Takes the runner lock; false when another runner holds it.
    public func acquireLock() -> Bool {
        if lockDescriptor < 0 { lockDescriptor = open(layout.runnerLock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        guard lockDescriptor >= 0 else { return false }
        return flock(lockDescriptor, LOCK_EX | LOCK_NB) == 0
    }

    private func releaseLock() {
        if lockDescriptor >= 0 { flock(lockDescriptor, LOCK_UN) }
    }

    /// True when a runner holds the lock (checked without waiting, as the hook does).
    public static func isRunning(_ layout: StateLayout) -> Bool { RunnerLock.isHeld(layout.runnerLock) }

    /// Starts a detached runner unless one is running; the caller never waits for it.
    public static func startInBackground(_ layout: StateLayout, executable: String = ProcessLauncher.currentExecutable) throws {
        try RunnerLock.startRunner(gitDirectory: layout.gitDirectory, executable: executable)
    }

    /// Runs until idle. Returns at once when another runner holds the lock.
    public func run(log: @escaping (String) -> Void) async throws {
        guard acquireLock() else {
            log("another runner is active; exiting")
            return
        }
        log("runner \(getpid()) started")
        try recover(log: log)
        let active = self.active
        let service = HookService(layout: layout) { count in
            log("hook service recorded \(count) execution\(count == 1 ? "" : "s") of a push")
            active.kick()
        }
        if !service.start() { log("cannot listen on \(service.socketPath); pushes are recorded by the hook itself") }
        defer { service.stop() }
        var idleSince = now()
        while true {
            // Transitions first, so nothing enters a stage disabled a moment ago.
            let disabled = try store.read { db in try Row.fetchAll(db, sql: "SELECT pipeline, stage FROM transitions") }
                .map { [$0["pipeline"] as String, $0["stage"] as String] }
            await scheduler.setDisabled(Set(disabled))
            let started = try startWaiting(log: log)
            try releaseStoppedWaiters()
            if started > 0 || active.count > 0 { idleSince = now() }
            if active.count == 0 && now() - idleSince >= settings.runnerIdleSeconds {
                // Stop answering hooks, release, then look once more: a hook that recorded work
                // while we held the lock saw us running and started nobody, so that work must be seen here.
                service.stop()
                releaseLock()
                if try waitingExecutions().isEmpty {
                    log("runner \(getpid()) idle; exiting")
                    return
                }
                guard acquireLock() else { return }  // a new runner took over
                _ = service.start()
                idleSince = now()
            }
            // Sleep up to 100 ms, but wake as soon as an execution ends: the next one of its
            // pipeline may be waiting for it.
            for _ in 0..<20 where !active.takeFinished() { try await Task.sleep(nanoseconds: 5_000_000) }
        }
    }

    /// A stopped execution that waits at a stage's entrance leaves the queue (and then ends Stopped).
    private func releaseStoppedWaiters() throws {
        let stopped = try store.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM executions WHERE status = ? AND waitingStage IS NOT NULL", arguments: [ExecutionStatus.stopping])
        }
        for id in stopped { Task { await scheduler.cancel(executionId: id) } }
    }

    func waitingExecutions() throws -> [ExecutionRecord] {
        try store.read { db in
            try ExecutionRecord.filter(Column("status") == ExecutionStatus.inProgress && Column("claimedBy") == nil)
                .order(Column("createdAt"), Column("number")).fetchAll(db)
        }
    }

    /// Claims and starts waiting executions, oldest first; the stage scheduler decides who enters
    /// which stage when.
    private func startWaiting(log: @escaping (String) -> Void) throws -> Int {
        var started = 0
        for execution in try waitingExecutions() {
            let claimed = try store.write { db -> Bool in
                try db.execute(sql: "UPDATE executions SET claimedBy = ? WHERE id = ? AND claimedBy IS NULL", arguments: [Int(getpid()), execution.id])
                return db.changesCount == 1
            }
            guard claimed else { continue }
            started += 1
            active.insert(execution.id)
            log("starting \(execution.label) (\(execution.id)) for \(execution.ref)@\(execution.sourceRevision.prefix(7))")
            let runner = ExecutionRunner(executionId: execution.id, layout: layout, settings: settings, store: store, notes: notes,
                                         scheduler: scheduler, now: now)
            let active = self.active
            Task.detached {
                await runner.run()
                active.remove(execution.id)
                log("finished \(execution.label)")
            }
        }
        return started
    }

    /// A previous runner died (we hold the lock, so nobody else works on claimed executions).
    /// Every process it left for an execution is killed — found by the execution id in its
    /// environment, so even an action whose process group was not yet recorded is reached. An
    /// execution that was in the middle of a stage fails its running actions with "runner lost"
    /// (Stopping ones end Stopped); one that was only waiting at a stage's entrance carries on
    /// from there. Nothing stays InProgress forever.
    func recover(log: (String) -> Void) throws {
        defer { repairNotes(log: log) }
        let orphans = try store.read { db in
            try ExecutionRecord.filter([ExecutionStatus.inProgress, ExecutionStatus.stopping].contains(Column("status")) && Column("claimedBy") != nil)
                .fetchAll(db)
        }
        for execution in orphans {
            for group in Self.processGroups(ofExecution: execution.id) {
                ProcessLauncher.terminateGroup(group, grace: settings.killGraceSeconds)
            }
            let running = try store.read { db in
                try ActionRecord.filter(Column("executionId") == execution.id && Column("status") == ExecutionStatus.inProgress).fetchAll(db)
            }
            for action in running {
                if let group = action.processGroup { ProcessLauncher.terminateGroup(pid_t(group), grace: settings.killGraceSeconds) }
            }
            let inStage = try store.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM stages WHERE executionId = ? AND status = ?",
                                 arguments: [execution.id, ExecutionStatus.inProgress]) ?? 0
            }
            let time = now()
            if inStage == 0 && running.isEmpty && execution.status == ExecutionStatus.inProgress {
                // Between stages or waiting at an entrance: it goes on from the stage it waited for.
                try store.write { db in
                    var resumed = execution
                    resumed.claimedBy = nil
                    if let stage = execution.waitingStage {
                        resumed.retryStage = stage
                        resumed.retryMode = "ALL_ACTIONS"
                    }
                    resumed.waitingStage = nil
                    try resumed.update(db)
                }
                log("recovered \(execution.label): it waited \(execution.waitingStage.map { "at \($0)" } ?? "to start"); it carries on")
                continue
            }
            let stopping = execution.status == ExecutionStatus.stopping
            try store.write { db in
                for var action in running {
                    action.status = stopping && execution.stopMode == "abandon" ? "Abandoned" : ExecutionStatus.failed
                    action.errorMessage = "runner lost: the runner stopped while this action ran"
                    action.endedAt = time
                    try action.update(db)
                    try Events.record(db, Events.actionChange, execution: execution, status: action.status, stage: action.stageName, action: action, time: time)
                }
                try db.execute(sql: "UPDATE stages SET status = ?, endedAt = ? WHERE executionId = ? AND status = ?",
                               arguments: [stopping ? ExecutionStatus.stopped : ExecutionStatus.failed, time, execution.id, ExecutionStatus.inProgress])
                // A deployment cut short stays in the ledger as failed; `current` still names
                // whichever release was live (the switch is one rename).
                try db.execute(sql: """
                    UPDATE deployments SET status = 'Failed', failedEvent = COALESCE(failedEvent, 'RunnerLost'),
                      message = 'the runner stopped during the deployment', endedAt = ? WHERE executionId = ? AND status = 'InProgress'
                    """, arguments: [time, execution.id])
                var ended = execution
                ended.status = stopping ? ExecutionStatus.stopped : ExecutionStatus.failed
                ended.statusSummary = stopping ? execution.statusSummary : "runner lost: the runner stopped while this execution ran"
                ended.endedAt = time
                ended.claimedBy = nil
                ended.waitingStage = nil
                try ended.update(db)
                try Events.record(db, Events.pipelineChange, execution: ended, status: ended.status, time: time)
            }
            try? notes.update(executionId: execution.id)
            log("recovered \(execution.label): marked \(stopping ? "Stopped" : "Failed") (runner lost)")
        }
    }

    /// Writes the notes of executions whose notes lag behind their events (a runner died between
    /// the store and the note).
    func repairNotes(log: (String) -> Void) {
        let stale = (try? store.read { db in
            try String.fetchAll(db, sql: """
                SELECT e.id FROM executions e
                WHERE COALESCE(e.notedRevision, 0) < (SELECT COALESCE(MAX(v.id), 0) FROM events v WHERE v.executionId = e.id)
                  AND (e.claimedBy IS NULL OR e.status NOT IN ('InProgress', 'Stopping'))
                """)
        }) ?? []
        for id in stale {
            do { try notes.update(executionId: id) } catch { log("cannot bring the note of \(id) up to date: \(error)") }
        }
        if !stale.isEmpty { log("brought \(stale.count) note\(stale.count == 1 ? "" : "s") up to date") }
    }

    /// The process groups of processes that carry `PIPELINE_EXECUTION_ID=<id>` in their environment.
    static func processGroups(ofExecution id: String) -> Set<pid_t> {
        let needle = Array("PIPELINE_EXECUTION_ID=\(id)".utf8)
        var groups: Set<pid_t> = []
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return groups }
        for entry in entries where entry.first?.isNumber == true {
            guard let environment = FileManager.default.contents(atPath: "/proc/\(entry)/environ"),
                  environment.split(separator: 0).contains(where: { Array($0) == needle }),
                  let pid = pid_t(entry) else { continue }
            let group = getpgid(pid)
            if group > 1 && group != getpgrp() { groups.insert(group) }
        }
        return groups
    }
}

/// The executions this runner is working on; touched by the loop and by finishing tasks.
final class ActiveExecutions: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: Set<String> = []
    private var finished = false

    var count: Int { lock.withLock { ids.count } }
    func insert(_ id: String) { lock.withLock { _ = ids.insert(id) } }
    func remove(_ id: String) { lock.withLock { _ = ids.remove(id); finished = true } }
    /// Wakes the loop (a push was recorded, or an execution ended).
    func kick() { lock.withLock { finished = true } }
    /// True once after any execution ended or a kick.
    func takeFinished() -> Bool { lock.withLock { defer { finished = false }; return finished } }
}
