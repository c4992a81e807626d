import Foundation
import GRDB

/// What a runner does first, holding the lock (so nobody else works on claimed executions): a
/// previous runner died, and everything it left is put right. Every process it left for an
/// execution is stopped — found by the execution id in its environment, so even an action whose
/// process group was not yet recorded is reached. An execution that was in the middle of a stage
/// fails its running actions with "runner lost" (Stopping ones end Stopped); one that was only
/// waiting at a stage's entrance carries on from there. Nothing stays InProgress forever; notes
/// that lag behind the store are written again.
struct Recovery {
    let runner: Runner

    private var store: Store { runner.store }

    func recover(log: @escaping @Sendable (String) -> Void) async {
        do {
            try await recoverExecutions(log: log)
        } catch {
            log("recovery: \(error)")
        }
        repairNotes(log: log)
    }

    private func recoverExecutions(log: (String) -> Void) async throws {
        let orphans = try store.read { db in
            try ExecutionRecord.filter([ExecutionStatus.inProgress, ExecutionStatus.stopping].contains(Column("status")) && Column("claimedBy") != nil)
                .fetchAll(db)
        }
        let grace = runner.settings.killGraceSeconds
        for execution in orphans {
            let running = try store.read { db in
                try ActionRecord.filter(Column("executionId") == execution.id && Column("status") == ActionStatus.inProgress).fetchAll(db)
            }
            let groups = ProcessSupervisor.groups(withEnvironment: "PIPELINE_EXECUTION_ID", value: execution.id)
                .union(running.compactMap { $0.processGroup.map { pid_t($0) } })
            await ProcessSupervisor.terminate(groups: groups, grace: grace)
            let inStage = try store.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM stages WHERE executionId = ? AND status = ?",
                                 arguments: [execution.id, StageStatus.inProgress]) ?? 0
            }
            let time = runner.world.clock.now()
            if inStage == 0 && running.isEmpty && execution.status == .inProgress {
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
            let stopping = execution.status == .stopping
            try store.write { db in
                for action in running {
                    try StatusChanges.action(db, action, execution: execution, to: stopping && execution.stopMode == "abandon" ? .abandoned : .failed,
                                             time: time) { $0.errorMessage = "runner lost: the runner stopped while this action ran" }
                }
                try StatusChanges.endRunningStages(db, execution: execution, as: stopping ? .stopped : .failed, time: time)
                // A deployment cut short stays in the ledger as failed; `current` still names
                // whichever release was live (the switch is one rename).
                try db.execute(sql: """
                    UPDATE deployments SET status = 'Failed', failedEvent = COALESCE(failedEvent, 'RunnerLost'),
                      message = 'the runner stopped during the deployment', endedAt = ? WHERE executionId = ? AND status = 'InProgress'
                    """, arguments: [time, execution.id])
                try StatusChanges.execution(db, execution.id, to: stopping ? .stopped : .failed, time: time) { ended in
                    if !stopping { ended.statusSummary = "runner lost: the runner stopped while this execution ran" }
                }
            }
            try? runner.notes.update(executionId: execution.id)
            log("recovered \(execution.label): marked \(stopping ? "Stopped" : "Failed") (runner lost)")
        }
    }

    /// Writes the notes of executions whose notes lag behind their events (a runner died between
    /// the store and the note).
    private func repairNotes(log: (String) -> Void) {
        // Only executions with events since the last repair can have a stale note: the work is
        // proportional to what happened since, not to the history (issue 12).
        let (mark, newest, stale) = (try? store.read { db -> (Int64, Int64, [String]) in
            let mark = try Store.counter(db, "notesRepairedThrough")
            let newest = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM events") ?? 0
            let stale = try String.fetchAll(db, sql: """
                SELECT e.id FROM executions e
                WHERE e.id IN (SELECT DISTINCT executionId FROM events WHERE id > ?)
                  AND COALESCE(e.notedRevision, 0) < (SELECT COALESCE(MAX(v.id), 0) FROM events v WHERE v.executionId = e.id)
                  AND (e.claimedBy IS NULL OR e.status NOT IN ('InProgress', 'Stopping'))
                """, arguments: [mark])
            return (mark, newest, stale)
        }) ?? (0, 0, [])
        var failed = false, repaired = 0
        for id in stale {
            do {
                try runner.notes.update(executionId: id)
                repaired += 1
            } catch {
                failed = true
                log("cannot bring the note of \(id) up to date: \(error)")
            }
        }
        if repaired > 0 { log("brought \(repaired) note\(repaired == 1 ? "" : "s") up to date") }
        if !failed && newest > mark {
            try? store.write { db in try Store.setCounter(db, "notesRepairedThrough", to: newest) }
        }
    }
}
