import Foundation
import GRDB

/// Answers a post-receive hook: ingests the push journal (which the hook has appended this push
/// to already) and returns the lines to show the pusher about this push. The runner's hook service
/// runs it for `git-pipeline-hook`; with no runner to ask, the hook starts one, which ingests.
public struct PushHandler: Sendable {
    let intake: Intake

    public init(layout: StateLayout, store: Store, clock: any WallClock = SystemClock()) {
        intake = Intake(layout: layout, store: store, clock: clock)
    }

    /// The lines for push `entryId` and how many executions it has (whoever recorded them).
    public func handle(entryId: String) -> (lines: [String], executions: Int) {
        do {
            let answer = try intake.ingest(answering: entryId)
            return ((answer.outcome.problems + answer.lines).map { "git-pipeline: " + $0 }, answer.executions)
        } catch {
            return (["git-pipeline: error: \(error) — the push went through and is in the push journal; run `git pipeline doctor` on the server"], 0)
        }
    }

    /// The executions push `entryId` started when it asked to wait for them (`-o ci.wait`), oldest
    /// first; empty otherwise.
    func waitedExecutions(entryId: String) -> [String] {
        (try? intake.store.read { db -> [String] in
            let wait = try Bool.fetchOne(db, sql: "SELECT COUNT(*) > 0 FROM pushOptions WHERE entryId = ? AND option = 'ci.wait'", arguments: [entryId]) ?? false
            guard wait else { return [] }
            return try String.fetchAll(db, sql: "SELECT id FROM executions WHERE intakeEntry >= ? AND intakeEntry < ? ORDER BY createdAt, number",
                                       arguments: [entryId + " ", entryId + "!"])
        }) ?? []
    }

    /// Ingests the journal without a hook waiting (the runner at start and when woken).
    func ingest() throws -> Intake.Outcome { try intake.ingest() }
}
