import Foundation
import Git
import GRDB
import Synchronization

/// The background runner: one per repository (an flock on `runner.lock`), started by the hook,
/// gone after a short idle time (or a service's `runner --foreground`, never idle). It claims
/// waiting executions and runs them; on start it recovers whatever a previous runner left behind.
/// It never polls: it sleeps until another process changes the store, a push is recorded, an
/// execution ends, or its idle deadline passes (or, idle, the journal's 5 s look).
public final class Runner: Sendable {
    let layout: StateLayout
    let settings: PipelineSettings
    let store: Store
    let notes: NotesWriter
    let world: World
    private let lock: RunnerLock
    private let active = Mutex<Set<String>>([])
    /// Action ids whose process groups an abandon is already stopping.
    private let abandoning = Mutex<Set<Int64>>([])
    private let scheduler = StageScheduler()
    /// Rung by the store watcher, the hook service and finishing executions.
    let doorbell = Doorbell()

    public init(layout: StateLayout, settings: PipelineSettings, world: World = .live) throws {
        self.layout = layout
        self.settings = settings
        self.world = world
        store = try Store(path: layout.database, wakesRunner: false)
        notes = NotesWriter(layout: layout, settings: settings, store: store, clock: world.clock)
        lock = RunnerLock(path: layout.runnerLock)
    }

    /// True when a runner holds the lock (checked without waiting, as the hook does).
    public static func isRunning(_ layout: StateLayout) -> Bool { RunnerLock.isHeld(layout.runnerLock) }

    /// Starts a detached runner (own session, no descriptor of ours) unless one is running; the
    /// caller never waits for it.
    public static func startInBackground(_ layout: StateLayout, executable: String = ProcessLauncher.currentExecutable) throws {
        guard !isRunning(layout) else { return }
        _ = try Spawn.spawn(executable, ["runner", "--git-dir", layout.gitDirectory], environment: Spawn.cleanEnvironment(),
                            logPath: layout.root + "/runner.log", newSession: true)
    }

    /// How often an idle runner looks at the push journal's size.
    static let journalLookSeconds = 5.0

    private var activeCount: Int { active.withLock { $0.count } }

    /// Deliveries of notifications under way.
    private let delivering = Atomic<Int>(0)
    private let notificationRules = Mutex<(rules: [NotificationRule], readAt: Double)>(([], -.infinity))

    /// Queues what the notification rules match and starts the deliveries that are due; returns
    /// when the next pending one falls due.
    private func notify(log: @escaping @Sendable (String) -> Void) -> Double? {
        let now = world.clock.now()
        let rules = notificationRules.withLock { cached -> [NotificationRule] in
            if now - cached.readAt > 2 {
                cached.rules = (try? Repository(path: layout.gitDirectory).configSnapshot()).flatMap { try? NotificationRule.rules($0) } ?? []
                cached.readAt = now
            }
            return cached.rules
        }
        let notifier = Notifier(layout: layout, store: store, world: world)
        do {
            _ = try notifier.queue(rules: rules)
            let (due, next) = try notifier.takeDue()
            for delivery in due {
                delivering.add(1, ordering: .relaxed)
                Task.detached { [self] in
                    await notifier.deliver(delivery, log: log)
                    delivering.subtract(1, ordering: .relaxed)
                    doorbell.ring()
                }
            }
            return next
        } catch {
            log("notifications: \(error)")
            return nil
        }
    }

    /// Runs until idle. Returns at once when another runner holds the lock.
    public func run(log: @escaping @Sendable (String) -> Void) async throws {
        guard lock.acquire() else {
            log("another runner is active; exiting")
            return
        }
        log("runner \(getpid()) started")
        MemoryLimits.apply()
        await Recovery(runner: self).recover(log: log)
        let watching = watchStore()
        defer { watching.stop() }
        let doorbell = self.doorbell
        let handler = PushHandler(layout: layout, store: store, clock: world.clock)
        let service = HookService(layout: layout, handler: handler) { count in
            log("hook service recorded \(count) execution\(count == 1 ? "" : "s") of a push")
            doorbell.ring()
        }
        if !service.start() { log("cannot listen on \(service.socketPath); pushes are recorded by the hook itself") }
        defer { service.stop() }
        var idleSince = world.clock.now()
        let journal = PushJournal(layout: layout)
        var journalSize: Int64 = -1, undecided = 0
        while true {
            // Taken before looking, so a change made while we look wakes the wait below at once.
            let seen = doorbell.generation
            // Pushes first: what the journal has that nobody recorded yet (a hook that died, a
            // hook that gave up waiting for us), and intents whose push may have ended meanwhile.
            if journal.size != journalSize || undecided > 0 {
                journalSize = journal.size
                do {
                    let outcome = try handler.ingest()
                    undecided = outcome.undecided
                    outcome.problems.forEach(log)
                    if outcome.executions > 0 { log("recorded \(outcome.executions) execution\(outcome.executions == 1 ? "" : "s") from the push journal") }
                } catch {
                    log("cannot ingest the push journal: \(error)")
                }
            }
            // Transitions first, so nothing enters a stage disabled a moment ago.
            let disabled = try store.read { db in try Row.fetchAll(db, sql: "SELECT pipeline, stage FROM transitions") }
                .map { [$0["pipeline"] as String, $0["stage"] as String] }
            await scheduler.setDisabled(Set(disabled))
            let started = try startWaiting(log: log)
            try await releaseStoppedWaiters()
            try abandonRequested(log: log)
            let nextDelivery = notify(log: log)
            let now = world.clock.now()
            if started > 0 || activeCount > 0 || undecided > 0 || nextDelivery != nil || delivering.load(ordering: .relaxed) > 0 { idleSince = now }
            if activeCount == 0 && now - idleSince >= settings.runnerIdleSeconds {
                // Stop answering hooks, release, then look once more: a hook that recorded work
                // while we held the lock saw us running and started nobody, so that work must be seen here.
                service.stop()
                lock.release()
                let last = try? handler.ingest()
                if try waitingExecutions().isEmpty && (last?.undecided ?? 0) == 0 {
                    log("runner \(getpid()) idle; exiting")
                    return
                }
                guard lock.acquire() else { return }  // a new runner took over
                _ = service.start()
                idleSince = world.clock.now()
                continue
            }
            var deadline = activeCount == 0 && settings.runnerIdleSeconds.isFinite ? settings.runnerIdleSeconds - (now - idleSince) : nil
            // A push whose post-receive has not said "done" yet: look again shortly (only while one is under way).
            if undecided > 0 { deadline = min(deadline ?? 1, 1) }
            if let nextDelivery { deadline = min(deadline ?? .infinity, max(0.05, nextDelivery - now)) }
            // pre-receive wakes nobody, so a push whose post-receive died is found by this look at
            // the journal's size, every few seconds (a stat; the loop's reads are a few indexed rows).
            deadline = min(deadline ?? Self.journalLookSeconds, Self.journalLookSeconds)
            await doorbell.wait(after: seen, timeout: deadline)
        }
    }

    /// A thread blocked on the runner's wake signal, ringing the doorbell for every change another
    /// process makes (`start`, `stop`, `approve`, … from the CLI; a push no runner answered).
    private func watchStore() -> StoreWatch {
        let watch = StoreWatch(signal: store.runnerWake)
        let doorbell = self.doorbell
        Thread.detachNewThread { watch.loop { doorbell.ring() } }
        return watch
    }

    /// A stopped execution that waits at a stage's entrance leaves the queue (and then ends Stopped).
    private func releaseStoppedWaiters() async throws {
        let stopped = try store.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM executions WHERE status = ? AND waitingStage IS NOT NULL",
                                arguments: [ExecutionStatus.stopping])
        }
        for id in stopped { await scheduler.cancel(executionId: id) }
    }

    /// `stop --abandon` asked for (by the CLI, through the store): the running actions' process
    /// groups are stopped here, by the supervisor; each action then ends Abandoned.
    private func abandonRequested(log: @escaping @Sendable (String) -> Void) throws {
        let running = try store.read { db in
            try ActionRecord.fetchAll(db, sql: """
                SELECT a.* FROM actions a JOIN executions e ON e.id = a.executionId
                WHERE e.status = ? AND e.stopMode = 'abandon' AND e.claimedBy = ? AND a.status = ? AND a.processGroup IS NOT NULL
                """, arguments: [ExecutionStatus.stopping, Int(getpid()), ActionStatus.inProgress])
        }
        let grace = settings.killGraceSeconds
        for action in running {
            guard let id = action.id, let group = action.processGroup,
                  abandoning.withLock({ $0.insert(id).inserted }) else { continue }
            log("abandoning \(action.stageName)/\(action.actionName) of \(action.executionId): stopping process group \(group)")
            Task { await ProcessSupervisor.terminate(group: pid_t(group), grace: grace) }
        }
    }

    func waitingExecutions() throws -> [ExecutionRecord] {
        try store.read { db in
            try ExecutionRecord.filter(Column("status") == ExecutionStatus.inProgress && Column("claimedBy") == nil)
                .order(Column("createdAt"), Column("number")).fetchAll(db)
        }
    }

    /// Claims and starts waiting executions, oldest first; the stage scheduler decides who enters
    /// which stage when.
    private func startWaiting(log: @escaping @Sendable (String) -> Void) throws -> Int {
        var started = 0
        for execution in try waitingExecutions() {
            let claimed = try store.write { db -> Bool in
                try db.execute(sql: "UPDATE executions SET claimedBy = ? WHERE id = ? AND claimedBy IS NULL", arguments: [Int(getpid()), execution.id])
                return db.changesCount == 1
            }
            guard claimed else { continue }
            started += 1
            active.withLock { _ = $0.insert(execution.id) }
            log("starting \(execution.label) (\(execution.id)) for \(execution.ref)@\(execution.sourceRevision.prefix(7))")
            let runner = ExecutionRunner(executionId: execution.id, layout: layout, settings: settings, store: store, notes: notes,
                                         scheduler: scheduler, doorbell: doorbell, world: world, log: log)
            let housekeeping = Housekeeping(layout: layout, store: store, settings: settings, log: log)
            Task.detached { [self] in
                await runner.run()
                housekeeping.afterExecution(execution.id)
                active.withLock { _ = $0.remove(execution.id) }
                log("finished \(execution.label)")
                // The next execution of its pipeline may be waiting for it.
                doorbell.ring()
            }
        }
        return started
    }
}

/// The thread that turns the store's change signal into doorbell rings, until stopped.
final class StoreWatch: Sendable {
    private let signal: ChangeSignal
    private let watcher: ChangeSignal.Watcher?
    private let stopped = Atomic<Bool>(false)

    init(signal: ChangeSignal) {
        self.signal = signal
        watcher = ChangeSignal.Watcher(signal)
    }

    func loop(_ ring: () -> Void) {
        // Without inotify, a slow tick stands in for it (and says so in no log: it is only slower).
        while !stopped.load(ordering: .acquiring) {
            if watcher?.wait(timeout: nil) ?? { usleep(200_000); return true }() { ring() }
        }
    }

    func stop() {
        stopped.store(true, ordering: .releasing)
        signal.post()  // wakes the thread so it sees the flag
    }
}
