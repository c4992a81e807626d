import Foundation
import GRDB
import HookClient

/// The state database (`state.sqlite`, WAL): executions, stages, actions, artifacts, events.
/// Several processes use it at once (hook, runner, commands); SQLite's locking keeps them apart.
/// All SQL of git-pipeline goes through here; the migrations below are the one schema.
public final class Store: Sendable {
    let queue: DatabaseQueue
    public let path: String
    /// Posted after every write that changed a row, so waiters in any process wake (no polling).
    public let changes: ChangeSignal
    /// Posted too by every process but the runner: what the runner waits on. Its own writes do not
    /// wake it (an action's start, end and notes made three loop turns per action).
    public let runnerWake: ChangeSignal
    let wakesRunner: Bool

    /// `wakesRunner` false: the runner's own store (it rings its doorbell itself where it must).
    public init(path: String, wakesRunner: Bool = true) throws {
        self.path = path
        self.wakesRunner = wakesRunner
        changes = ChangeSignal(databasePath: path)
        runnerWake = ChangeSignal(databasePath: path, name: HookWire.runnerWakeName)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.journalMode = .wal
        configuration.prepareDatabase { db in
            // WAL with synchronous=NORMAL: a commit survives any process crash; only power loss can drop
            // the last transactions, as git's own loose refs and objects can without core.fsync.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        queue = try DatabaseQueue(path: path, configuration: configuration)
        try Self.migrator.migrate(queue)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE counters (
                    pipeline TEXT PRIMARY KEY,          -- executions are numbered per pipeline
                    lastNumber INTEGER NOT NULL);
                CREATE TABLE executions (
                    id TEXT PRIMARY KEY,                -- UUID, CodePipeline's pipelineExecutionId
                    pipeline TEXT NOT NULL,
                    number INTEGER NOT NULL,            -- app #12
                    status TEXT NOT NULL,               -- InProgress, Stopping, Stopped, Succeeded, Superseded, Failed, Cancelled
                    statusSummary TEXT,
                    executionMode TEXT NOT NULL,        -- SUPERSEDED, QUEUED, PARALLEL
                    ref TEXT NOT NULL,                  -- refs/heads/main
                    sourceRevision TEXT NOT NULL,       -- the commit the execution builds
                    oldRevision TEXT,                   -- the ref's previous tip, for pushes
                    triggerType TEXT NOT NULL,          -- WebhookV2 (a push), StartPipelineExecution, ...
                    triggerDetail TEXT NOT NULL,        -- JSON: who pushed what
                    definitionPath TEXT NOT NULL,       -- .pipeline.yml or .pipelines/NAME.yml
                    definitionJSON TEXT,                -- the declaration used, from the source revision
                    definitionError TEXT,               -- validation errors when it did not parse
                    sourceArtifactDigest TEXT,
                    createdAt REAL NOT NULL,
                    startedAt REAL,
                    endedAt REAL,
                    claimedBy INTEGER,                  -- pid of the runner working on it; NULL: waiting
                    UNIQUE (pipeline, number));
                CREATE INDEX executions_by_status ON executions(status, createdAt);
                CREATE INDEX executions_by_revision ON executions(sourceRevision);
                CREATE TABLE stages (
                    executionId TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
                    stageIndex INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    status TEXT NOT NULL,
                    startedAt REAL,
                    endedAt REAL,
                    PRIMARY KEY (executionId, name));
                CREATE TABLE actions (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    executionId TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
                    stageName TEXT NOT NULL,
                    actionName TEXT NOT NULL,
                    category TEXT NOT NULL,
                    provider TEXT NOT NULL,
                    runOrder INTEGER NOT NULL,
                    attempt INTEGER NOT NULL,           -- 1, then 2... on retry
                    status TEXT NOT NULL,               -- InProgress, Abandoned, Succeeded, Failed
                    startedAt REAL,
                    endedAt REAL,
                    processGroup INTEGER,               -- so stop and recovery can signal it
                    logPath TEXT,
                    summary TEXT,
                    errorMessage TEXT,
                    failedCommand TEXT,
                    outputVariables TEXT);
                CREATE INDEX actions_by_execution ON actions(executionId);
                CREATE TABLE artifacts (
                    executionId TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    digest TEXT NOT NULL,               -- sha256 of the zip in artifacts/sha256/
                    size INTEGER NOT NULL,
                    PRIMARY KEY (executionId, name));
                CREATE TABLE events (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    time REAL NOT NULL,
                    detailType TEXT NOT NULL,           -- as EventBridge names CodePipeline's events
                    executionId TEXT NOT NULL,
                    detail TEXT NOT NULL);              -- EventBridge's detail object, JSON
                """)
        }
        migrator.registerMigration("v2 definition cache") { db in
            try db.execute(sql: """
                CREATE TABLE definitions (
                    blob TEXT NOT NULL,                 -- the definition file's blob id
                    path TEXT NOT NULL,                 -- .pipeline.yml or .pipelines/NAME.yml
                    pipeline TEXT NOT NULL,             -- declared name, or the default for the path
                    executionMode TEXT NOT NULL,
                    definitionJSON TEXT,                -- the parsed declaration; NULL when invalid
                    definitionError TEXT,               -- all errors, one per line, when invalid
                    filters TEXT NOT NULL,              -- push filters, one per line (PushFilter.encodeLines)
                    PRIMARY KEY (blob, path));
                """)
        }
        migrator.registerMigration("v3 stage entrances") { db in
            // The stage an execution waits to enter (its lock held by another), NULL otherwise.
            try db.execute(sql: "ALTER TABLE executions ADD COLUMN waitingStage TEXT")
        }
        migrator.registerMigration("v4 execution variables") { db in
            // Pipeline variables given at start (`start --variable K=V`), a JSON object.
            try db.execute(sql: "ALTER TABLE executions ADD COLUMN variables TEXT")
        }
        migrator.registerMigration("v5 stop") { db in
            // How a Stopping execution stops: 'wait' lets running actions finish, 'abandon' kills them.
            try db.execute(sql: "ALTER TABLE executions ADD COLUMN stopMode TEXT")
        }
        migrator.registerMigration("v6 transitions") { db in
            try db.execute(sql: """
                CREATE TABLE transitions (
                    pipeline TEXT NOT NULL,
                    stage TEXT NOT NULL,                -- the stage whose entrance is disabled
                    reason TEXT,
                    changedBy TEXT NOT NULL,
                    changedAt REAL NOT NULL,
                    PRIMARY KEY (pipeline, stage));    -- a row means disabled
                """)
        }
        migrator.registerMigration("v7 retry") { db in
            // A retried execution starts again at this stage (RetryStageExecution), with
            // FAILED_ACTIONS or ALL_ACTIONS; cleared when the retry starts running.
            try db.execute(sql: "ALTER TABLE executions ADD COLUMN retryStage TEXT")
            try db.execute(sql: "ALTER TABLE executions ADD COLUMN retryMode TEXT")
        }
        migrator.registerMigration("v8 noted revision") { db in
            // The last event the notes show: a runner killed between the store and the note leaves
            // it behind the events, and the next runner writes the note again.
            try db.execute(sql: "ALTER TABLE executions ADD COLUMN notedRevision INTEGER")
        }
        migrator.registerMigration("v9 approvals") { db in
            try db.execute(sql: """
                CREATE TABLE approvals (
                    actionId INTEGER PRIMARY KEY REFERENCES actions(id) ON DELETE CASCADE,
                    executionId TEXT NOT NULL,
                    stageName TEXT NOT NULL,
                    actionName TEXT NOT NULL,
                    status TEXT NOT NULL,               -- Pending, Approved, Rejected
                    summary TEXT,                       -- what the approver said
                    decidedBy TEXT,
                    decidedAt REAL);
                """)
        }
        migrator.registerMigration("v10 test reports") { db in
            try db.execute(sql: "ALTER TABLE actions ADD COLUMN testReport TEXT")
        }
        migrator.registerMigration("v11 deployments") { db in
            // The deploy ledger: every Directory deployment, what it replaced, and when it went live.
            try db.execute(sql: """
                CREATE TABLE deployments (
                    id TEXT PRIMARY KEY,                -- d-XXXXXXXXX, as CodeDeploy names deployments
                    target TEXT NOT NULL,               -- the Target folder
                    pipeline TEXT NOT NULL,
                    executionId TEXT NOT NULL,
                    executionLabel TEXT NOT NULL,       -- pipeline#N
                    stageName TEXT NOT NULL,
                    actionName TEXT NOT NULL,
                    revision TEXT NOT NULL,             -- the commit the release was built from
                    bundleDigest TEXT NOT NULL,         -- the deployed artifact (sha256), to redeploy it
                    releasePath TEXT NOT NULL,
                    kind TEXT NOT NULL,                 -- Deploy, AutomaticRollback, Rollback
                    status TEXT NOT NULL,               -- InProgress, Succeeded, Failed
                    previousId TEXT,                    -- what was live before it
                    rolledBackFrom TEXT,                -- the failed deployment an automatic rollback undid
                    failedEvent TEXT,
                    message TEXT,
                    startedAt REAL NOT NULL,
                    liveSince REAL,                     -- when `current` switched to it
                    endedAt REAL);
                CREATE INDEX deployments_target ON deployments(target, startedAt);
                """)
        }
        migrator.registerMigration("v12 rollback") { db in
            try db.execute(sql: "ALTER TABLE executions ADD COLUMN rollbackTarget TEXT")
        }
        migrator.registerMigration("v13 push journal") { db in
            // Exactly-once intake: each ref update of the push journal becomes one row here, and the
            // executions it triggers name it, all in one transaction (SPEC §9).
            try db.execute(sql: """
                CREATE TABLE intake (
                    entryId TEXT NOT NULL,              -- git-receive-pack's pid-starttime: one push
                    ref TEXT NOT NULL,
                    oldRevision TEXT NOT NULL,
                    newRevision TEXT NOT NULL,
                    pusher TEXT NOT NULL,
                    done INTEGER NOT NULL DEFAULT 0,    -- post-receive said the refs moved
                    status TEXT NOT NULL,               -- Pending, Recorded, Aborted
                    lines TEXT,                         -- what the push printed about it, once recorded
                    journaledAt REAL NOT NULL,
                    decidedAt REAL,
                    PRIMARY KEY (entryId, ref));
                CREATE INDEX intake_pending ON intake(status, ref);
                CREATE TABLE intakeState (
                    name TEXT PRIMARY KEY,              -- journalOffset: bytes of the journal ingested
                    value INTEGER NOT NULL);
                """)
            try db.execute(sql: "ALTER TABLE executions ADD COLUMN intakeEntry TEXT")
        }
        migrator.registerMigration("v14 history indexes") { db in
            // Flat in history (issue 12): an execution's newest event (every note write, recovery's
            // note repair), a pipeline's newest executions (history, status), a stage's latest run
            // (status), a push's executions (the hook's answer) and who uses a digest (retention)
            // are index lookups, not scans of every execution's rows.
            try db.execute(sql: """
                CREATE INDEX events_by_execution ON events(executionId, id);
                CREATE INDEX executions_by_pipeline_time ON executions(pipeline, createdAt, number);
                CREATE INDEX executions_by_time ON executions(createdAt, number);
                CREATE INDEX executions_by_intake ON executions(intakeEntry);
                CREATE INDEX executions_by_source_artifact ON executions(sourceArtifactDigest);
                CREATE INDEX stages_by_name ON stages(name, startedAt);
                CREATE INDEX artifacts_by_digest ON artifacts(digest);
                """)
        }
        migrator.registerMigration("v15 AWS names") { db in
            // CodePipeline's TriggerType for a rollback by hand is ManualRollback (issue 13); the
            // reason a stop was given, for stopTrigger.reason.
            try db.execute(sql: """
                UPDATE executions SET triggerType = 'ManualRollback' WHERE triggerType = 'Rollback';
                UPDATE events SET detail = replace(detail, '"trigger-type":"Rollback"', '"trigger-type":"ManualRollback"')
                    WHERE detail LIKE '%"trigger-type":"Rollback"%';
                ALTER TABLE executions ADD COLUMN stopReason TEXT;
                """)
        }
        migrator.registerMigration("v16 pipeline versions") { db in
            // CodePipeline's pipelineVersion: 1 for a pipeline's first definition, one more each time an
            // execution brings a definition other than the one before it. Set on insert (a rollback
            // copies its target's); the rows there were get theirs here, in the order they were made.
            try db.execute(sql: """
                ALTER TABLE executions ADD COLUMN pipelineVersion INTEGER;
                CREATE TRIGGER executions_pipeline_version AFTER INSERT ON executions WHEN NEW.pipelineVersion IS NULL
                BEGIN
                    UPDATE executions SET pipelineVersion = COALESCE((
                        SELECT CASE WHEN p.definitionJSON IS NEW.definitionJSON THEN p.pipelineVersion ELSE p.pipelineVersion + 1 END
                        FROM executions p WHERE p.pipeline = NEW.pipeline AND p.id != NEW.id AND p.pipelineVersion IS NOT NULL
                        ORDER BY p.createdAt DESC, p.number DESC LIMIT 1), 1)
                    WHERE id = NEW.id;
                END;
                """)
            // As on insert: a rollback keeps its target's version; any other row compares with the row before it.
            var latest: [String: (version: Int, definition: String?)] = [:], byId: [String: Int] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT id, pipeline, definitionJSON, rollbackTarget FROM executions ORDER BY pipeline, createdAt, number")
            var updates: [(String, Int)] = []
            while let row = try rows.next() {
                let id: String = row["id"], pipeline: String = row["pipeline"], definition: String? = row["definitionJSON"]
                let version: Int
                if let target = row["rollbackTarget"] as String?, let targetVersion = byId[target] {
                    version = targetVersion
                } else {
                    version = latest[pipeline].map { $0.definition == definition ? $0.version : $0.version + 1 } ?? 1
                }
                latest[pipeline] = (version, definition)
                byId[id] = version
                updates.append((id, version))
            }
            for (id, version) in updates {
                try db.execute(sql: "UPDATE executions SET pipelineVersion = ? WHERE id = ?", arguments: [version, id])
            }
        }
        migrator.registerMigration("v17 execution attempts") { db in
            // CodePipeline's pipeline-execution-attempt: 1, and one more with each retry (kept on the
            // row by the retry itself, so that no event has to count the RESUMED ones before it).
            try db.execute(sql: """
                ALTER TABLE executions ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
                UPDATE executions SET attempt = 1 + (SELECT COUNT(*) FROM events v WHERE v.executionId = executions.id
                    AND v.detailType = 'CodePipeline Pipeline Execution State Change' AND v.detail LIKE '%"state":"RESUMED"%');
                """)
        }
        migrator.registerMigration("v18 definition parser revision") { db in
            // Rows parsed before the revision was kept (0) are parsed again on their next push.
            try db.execute(sql: "ALTER TABLE definitions ADD COLUMN parser INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v19 push options") { db in
            // `git push -o` values of a journal entry (both hooks journal them: kept once).
            try db.execute(sql: """
                CREATE TABLE pushOptions (
                    entryId TEXT NOT NULL,
                    position INTEGER NOT NULL,
                    option TEXT NOT NULL,
                    PRIMARY KEY (entryId, position));
                """)
        }
        migrator.registerMigration("v20 notifications") { db in
            // Deliveries of events to the targets of notification rules (git config notification.NAME.*).
            try db.execute(sql: """
                CREATE TABLE deliveries (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    eventId INTEGER NOT NULL,
                    rule TEXT NOT NULL,
                    target TEXT NOT NULL,              -- command:TEXT or webhook:URL (with format)
                    status TEXT NOT NULL,              -- Pending, Delivered, Failed
                    attempts INTEGER NOT NULL DEFAULT 0,
                    nextAt REAL NOT NULL,
                    lastError TEXT,
                    createdAt REAL NOT NULL);
                CREATE INDEX deliveriesPending ON deliveries (status, nextAt);
                """)
            // Rules match events from now on: an upgraded store does not notify its history.
            try db.execute(sql: "INSERT OR REPLACE INTO intakeState (name, value) SELECT 'notifiedEvent', COALESCE(MAX(id), 0) FROM events")
        }
        return migrator
    }

    public func read<T>(_ body: (Database) throws -> T) throws -> T { try queue.read(body) }

    /// One write transaction; when it changed anything, watchers of the store are told.
    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        var changed = false
        let result = try queue.write { db in
            let before = db.totalChangesCount
            defer { changed = db.totalChangesCount != before }
            return try body(db)
        }
        if changed {
            changes.post()
            if wakesRunner { runnerWake.post() }
        }
        return result
    }

    /// The next execution number of `pipeline`, inside the caller's transaction.
    static func nextNumber(_ db: Database, pipeline: String) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: """
            INSERT INTO counters (pipeline, lastNumber) VALUES (?, 1)
            ON CONFLICT(pipeline) DO UPDATE SET lastNumber = lastNumber + 1
            RETURNING lastNumber
            """), arguments: [pipeline])!
    }

    // MARK: Queries

    public func execution(id: String) throws -> ExecutionRecord? {
        try read { try ExecutionRecord.fetchOne($0, key: id) }
    }

    public func stages(of executionId: String) throws -> [StageRecord] {
        try read { try StageRecord.filter(Column("executionId") == executionId).order(Column("stageIndex")).fetchAll($0) }
    }

    public func actions(of executionId: String) throws -> [ActionRecord] {
        try read { try ActionRecord.filter(Column("executionId") == executionId).order(Column("id")).fetchAll($0) }
    }

    public func artifacts(of executionId: String) throws -> [ArtifactRecord] {
        try read { try ArtifactRecord.filter(Column("executionId") == executionId).order(Column("name")).fetchAll($0) }
    }

    /// A named counter of the runner's own bookkeeping (the push journal's ingested offset, the
    /// last event whose note recovery checked), in `intakeState`.
    static func counter(_ db: Database, _ name: String) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM intakeState WHERE name = ?"), arguments: [name]) ?? 0
    }

    static func setCounter(_ db: Database, _ name: String, to value: Int64) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO intakeState (name, value) VALUES (?, ?)").execute(arguments: [name, value])
    }

    /// Executions, newest first, optionally of one pipeline.
    public func executions(pipeline: String? = nil, limit: Int = 100) throws -> [ExecutionRecord] {
        try read { db in
            var request = ExecutionRecord.order(Column("createdAt").desc, Column("number").desc)
            if let pipeline { request = request.filter(Column("pipeline") == pipeline) }
            return try request.limit(limit).fetchAll(db)
        }
    }

    /// One page of a pipeline's executions, newest first, optionally only of one ref and status
    /// (the web console's history), with how many match in all.
    public func executions(pipeline: String, ref: String?, status: ExecutionStatus?, limit: Int, offset: Int) throws -> (page: [ExecutionRecord], total: Int) {
        try read { db in
            var request = ExecutionRecord.filter(Column("pipeline") == pipeline)
            if let ref { request = request.filter(Column("ref") == ref) }
            if let status { request = request.filter(Column("status") == status.rawValue) }
            let total = try request.fetchCount(db)
            return (try request.order(Column("createdAt").desc, Column("number").desc).limit(limit, offset: offset).fetchAll(db), total)
        }
    }

    /// The names of all pipelines that have executions.
    public func pipelineNames() throws -> [String] {
        try read { try String.fetchAll($0, sql: "SELECT pipeline FROM counters ORDER BY pipeline") }
    }

    /// Finds an execution by `PIPELINE#N`, its UUID, or a unique prefix of the UUID.
    public func findExecution(_ name: String) throws -> ExecutionRecord {
        if let hash = name.lastIndex(of: "#"), let number = Int(name[name.index(after: hash)...]) {
            let pipeline = name[..<hash].trimmingCharacters(in: .whitespaces)
            if let record = try read({ try ExecutionRecord.filter(Column("pipeline") == pipeline && Column("number") == number).fetchOne($0) }) {
                return record
            }
            throw StoreError.notFound("no execution \(pipeline)#\(number)")
        }
        // A prefix of a UUID, matched literally: no LIKE, so `%`, `_` or an empty name match nothing.
        let prefix = name.lowercased()
        guard !prefix.isEmpty, prefix.allSatisfy({ $0.isHexDigit || $0 == "-" }) else {
            throw StoreError.notFound("no execution matches `\(Sanitized.text(name))` (use PIPELINE#N, a UUID, or a unique prefix of one)")
        }
        // A range of the primary key: ids are lowercase hex and `-`, all below `g`.
        let matches = try read {
            try ExecutionRecord.fetchAll($0, sql: "SELECT * FROM executions WHERE id >= ? AND id < ? LIMIT 2", arguments: [prefix, prefix + "g"])
        }
        if matches.count == 1 { return matches[0] }
        if matches.isEmpty { throw StoreError.notFound("no execution matches `\(Sanitized.text(name))` (use PIPELINE#N, a UUID, or a unique prefix of one)") }
        throw StoreError.notFound("`\(name)` matches several executions; give more of the UUID")
    }
}

public enum StoreError: Error, CustomStringConvertible {
    case notFound(String)
    public var description: String {
        switch self { case .notFound(let message): message }
    }
}
