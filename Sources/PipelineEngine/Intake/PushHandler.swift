import Foundation

/// Answers a post-receive hook: ingests the push journal (which the hook has appended this push
/// to already) and returns the lines to show the pusher about this push. The runner's hook service
/// runs it for `git-pipeline-hook`; `git pipeline hook post-receive` runs it when no runner is
/// there to ask.
public struct PushHandler: Sendable {
    let intake: Intake

    public init(layout: StateLayout, store: Store, clock: any WallClock = SystemClock()) {
        intake = Intake(layout: layout, store: store, clock: clock)
    }

    /// The lines for push `entryId`, how many executions it has (whoever recorded them), and
    /// whether a runner is needed (something was recorded, or a push is still to be decided).
    public func handle(entryId: String) -> (lines: [String], executions: Int, needsRunner: Bool) {
        var lines: [String] = []
        var executions = 0, needsRunner = false
        do {
            let outcome = try intake.ingest()
            executions = try intake.executions(entryId: entryId)
            needsRunner = outcome.executions > 0 || outcome.undecided > 0
            lines = outcome.problems + (try intake.lines(entryId: entryId))
        } catch {
            lines.append("error: \(error) — the push went through and is in the push journal; run `git pipeline doctor` on the server")
        }
        return (lines.map { "git-pipeline: " + $0 }, executions, needsRunner)
    }

    /// Ingests the journal without a hook waiting (the runner at start and when woken).
    func ingest() throws -> Intake.Outcome { try intake.ingest() }
}
