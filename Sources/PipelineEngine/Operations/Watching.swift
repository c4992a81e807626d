import Foundation

/// `--wait` and `--follow`: block on the store's change signal instead of polling. A missed signal
/// (a writer that could not touch the file) costs at most `safetySeconds` of delay, never a hang.
public enum Watching {
    static let safetySeconds = 5.0

    /// Blocks until the execution ends and returns it as it ended.
    public static func waitForEnd(layout: StateLayout, executionId: String) throws -> ExecutionRecord {
        let store = try Store(path: layout.database)
        let watcher = ChangeSignal.Watcher(store.changes)
        while true {
            guard let current = try store.execution(id: executionId) else {
                throw OperationError(message: "execution \(executionId) disappeared from the store")
            }
            if current.isTerminal { return current }
            // The watch was set before the look above, so a change in between wakes this at once.
            if let watcher { watcher.wait(timeout: safetySeconds) } else { usleep(200_000) }
        }
    }

    /// Calls `body` with each batch of new events, oldest first, forever (`events --follow`).
    public static func follow(layout: StateLayout, after start: Int64 = 0, _ body: ([EventRecord]) -> Void) throws -> Never {
        let store = try Store(path: layout.database)
        let reports = Reports(layout: layout, store: store)
        let watcher = ChangeSignal.Watcher(store.changes)
        var last = start
        while true {
            let events = try reports.events(after: last)
            if !events.isEmpty {
                body(events)
                last = events.last?.id ?? last
            }
            if let watcher { watcher.wait(timeout: safetySeconds) } else { usleep(200_000) }
        }
    }
}
