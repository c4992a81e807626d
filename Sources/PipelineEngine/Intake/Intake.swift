import Foundation
import Git
import GRDB
import PipelineModel

/// One ref update of the journal, as the store keeps it.
struct IntakeRecord: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "intake"
    var entryId: String
    var ref: String
    var oldRevision: String
    var newRevision: String
    var pusher: String
    var done: Bool
    var status: String
    var lines: String?
    var journaledAt: Double
    var decidedAt: Double?

    static let pending = "Pending", recorded = "Recorded", aborted = "Aborted"

    /// How executions name the entry that recorded them.
    var key: String { entryId + " " + ref }
}

/// Exactly-once intake (SPEC §9): the push journal becomes recorded pushes. Each ref update is one
/// row keyed by (entry id, ref); a row is recorded in the same transaction as the executions it
/// triggers, so whoever ingests — the runner, the hook's slow way, both at once, again after a
/// crash — records each update once.
///
/// An update is recorded when post-receive said it was done, or when the ref's history shows it
/// happened: walking back from the ref's tip through the journal's updates of that ref (new → old)
/// reaches it. That is how an update whose post-receive was killed is still found. An intent that
/// is not on that walk once its git-receive-pack has ended never happened (refused, or lost a race):
/// it is aborted.
struct Intake {
    let layout: StateLayout
    let store: Store
    let clock: any WallClock
    /// One repository handle for every ingest of this process (opening one costs a push 0.2 ms).
    let handle: CachedRepository

    init(layout: StateLayout, store: Store, clock: any WallClock) {
        self.layout = layout
        self.store = store
        self.clock = clock
        handle = CachedRepository(path: layout.gitDirectory, clock: clock)
    }

    struct Outcome {
        /// Executions recorded by this call.
        var executions = 0
        /// Intents whose push is still under way: ingest again once it ends.
        var undecided = 0
        var problems: [String] = []
    }

    /// Reads what the journal has beyond the ingested offset and decides every pending update.
    @discardableResult
    func ingest() throws -> Outcome {
        try ingest { _ in }
    }

    /// Ingests, then answers the hook of push `entryId` in the same transaction: its lines and how
    /// many executions it has (whoever recorded them). One transaction, so the hook waits for one.
    func ingest(answering entryId: String) throws -> (outcome: Outcome, lines: [String], executions: Int) {
        var lines: [String] = [], executions = 0
        let outcome = try ingest { db in
            executions = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM executions WHERE intakeEntry >= ? AND intakeEntry < ?"),
                                          arguments: [entryId + " ", entryId + "!"]) ?? 0
            lines = try Self.lines(db, entryId: entryId)
        }
        return (outcome, lines, executions)
    }

    private func ingest(then answer: (Database) throws -> Void) throws -> Outcome {
        let journal = PushJournal(layout: layout)
        return try handle.use { repository in
            let settings = try PipelineSettings(repository: repository)
            let recorder = PushRecorder(repository: repository, repositoryName: layout.repositoryName, notesName: settings.notesName, clock: clock)
            return try store.write { db in
                let outcome = try decideAll(db, journal: journal, repository: repository, recorder: recorder)
                try answer(db)
                return outcome
            }
        }
    }

    private func decideAll(_ db: Database, journal: PushJournal, repository: Repository, recorder: PushRecorder) throws -> Outcome {
        var outcome = Outcome()
        let offset = try Store.counter(db, "journalOffset")
        let read = journal.read(from: offset)
        outcome.problems = read.problems
        let now = clock.now()
        for line in read.lines {
            try db.cachedStatement(sql: """
                INSERT INTO intake (entryId, ref, oldRevision, newRevision, pusher, done, status, journaledAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (entryId, ref) DO UPDATE SET done = MAX(done, excluded.done)
                """).execute(arguments: [line.entryId, line.ref, line.old, line.new, line.pusher, line.done, IntakeRecord.pending, now])
        }
        for option in read.options {
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO pushOptions (entryId, position, option) VALUES (?, ?, ?)")
                .execute(arguments: [option.entryId, option.position, option.text])
        }
        if read.end != offset {
            try Store.setCounter(db, "journalOffset", to: read.end)
        }
        let pending = try IntakeRecord.fetchAll(db.cachedStatement(sql: "SELECT * FROM intake WHERE status = ? ORDER BY rowid"), arguments: [IntakeRecord.pending])
        guard !pending.isEmpty else { return outcome }
        var happened = Set(pending.filter(\.done).map(\.key))
        for ref in Set(pending.filter { !$0.done }.map(\.ref)) {
            happened.formUnion(try walk(db, ref: ref, tip: try repository.referenceTarget(ref)?.hex))
        }
        for row in pending {
            if happened.contains(row.key) {
                guard let old = ObjectID(hex: row.oldRevision), let new = ObjectID(hex: row.newRevision) else { continue }
                let options = PushOptions(try String.fetchAll(db.cachedStatement(sql: "SELECT option FROM pushOptions WHERE entryId = ? ORDER BY position"),
                                                                  arguments: [row.entryId]))
                let recorded = try recorder.record(db, [RefUpdate(old: old, new: new, ref: row.ref)], pusher: row.pusher, intakeEntry: row.key,
                                                   options: options)
                try decide(db, row, as: IntakeRecord.recorded, lines: recorded.lines, time: now)
                outcome.executions += recorded.executions.count
            } else if PushJournal.receivePackRunning(row.entryId) {
                outcome.undecided += 1
            } else {
                try decide(db, row, as: IntakeRecord.aborted, lines: [], time: now)
            }
        }
        return outcome
    }

    /// The updates of `ref` that its history shows happened: from the tip back through the journal
    /// (each step the newest not-aborted update whose new revision is where we stand), until one
    /// that was already recorded, or none leads further.
    private func walk(_ db: Database, ref: String, tip: String?) throws -> Set<String> {
        let rows = try IntakeRecord.fetchAll(db, sql: "SELECT * FROM intake WHERE ref = ? AND status != ? ORDER BY rowid",
                                             arguments: [ref, IntakeRecord.aborted])
        guard let first = rows.first else { return [] }
        var at = tip ?? String(repeating: "0", count: first.oldRevision.count)
        var found: Set<String> = [], used: Set<String> = []
        while let step = rows.last(where: { $0.newRevision == at && !used.contains($0.key) }) {
            used.insert(step.key)
            if step.status == IntakeRecord.recorded { break }
            found.insert(step.key)
            at = step.oldRevision
        }
        return found
    }

    private func decide(_ db: Database, _ row: IntakeRecord, as status: String, lines: [String], time: Double) throws {
        try db.cachedStatement(sql: "UPDATE intake SET status = ?, lines = ?, decidedAt = ? WHERE entryId = ? AND ref = ?")
            .execute(arguments: [status, lines.isEmpty ? nil : lines.joined(separator: "\n"), time, row.entryId, row.ref])
    }

    /// What the push `entryId` printed about its updates (for the hook's answer), in journal order.
    static func lines(_ db: Database, entryId: String) throws -> [String] {
        try IntakeRecord.fetchAll(db.cachedStatement(sql: "SELECT * FROM intake WHERE entryId = ? ORDER BY rowid"), arguments: [entryId]).flatMap { row -> [String] in
            switch row.status {
            case IntakeRecord.recorded: row.lines.map { $0.split(separator: "\n").map(String.init) } ?? []
            case IntakeRecord.pending: ["\(shortRefName(row.ref)): journaled; the runner records it as soon as git has moved the ref"]
            default: []
            }
        }
    }
}

/// A repository handle kept between uses by one thread at a time, opened anew after a minute (or
/// after a use that failed), so that a long-lived runner never works on a handle gone stale.
/// `@unchecked Sendable`: the handle is only touched under `lock`.
final class CachedRepository: @unchecked Sendable {
    private let path: String
    private let clock: any WallClock
    private let lock = NSLock()
    private var repository: Repository?
    private var openedAt = 0.0
    static let lifetimeSeconds = 60.0

    init(path: String, clock: any WallClock) {
        self.path = path
        self.clock = clock
    }

    func use<T>(_ body: (Repository) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        let now = clock.now()
        if repository == nil || now - openedAt > Self.lifetimeSeconds || now < openedAt {
            repository = try Repository(path: path)
            openedAt = now
        }
        do {
            return try body(repository!)
        } catch {
            repository = nil
            throw error
        }
    }
}
