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

    /// Calls `body` now and after each change of the store (and every few seconds: durations
    /// grow), forever (`watch`).
    public static func everyChange(layout: StateLayout, _ body: () throws -> Void) throws -> Never {
        let store = try Store(path: layout.database)
        let watcher = ChangeSignal.Watcher(store.changes)
        while true {
            try body()
            if let watcher { watcher.wait(timeout: 2) } else { usleep(500_000) }
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

    /// `logs EXEC --follow`: writes each action's log as it grows (a `==> Stage/Action attempt N <==`
    /// header before each when more than one may show), until the execution has ended (with
    /// `action`, until that action has ended, or the execution without it) and every log is drained.
    /// Returns the execution as it was at the end.
    public static func followLogs(layout: StateLayout, executionId: String, action: String?,
                                  write: (String?, [UInt8]) -> Void) throws -> ExecutionRecord {
        let store = try Store(path: layout.database)
        let watcher = ChangeSignal.Watcher(store.changes)
        var offsets: [Int64: UInt64] = [:]
        var current: Int64?
        while true {
            guard let execution = try store.execution(id: executionId) else {
                throw OperationError(message: "execution \(executionId) disappeared from the store")
            }
            let actions = try store.actions(of: executionId).filter { action == nil || $0.actionName == action }
            var settled = true
            for record in actions {
                guard let id = record.id else { continue }
                // The status is read before the file: what an ended action wrote is all there.
                let ended = record.status.isTerminal
                let bytes = record.logPath.map { readFrom($0, offset: offsets[id] ?? 0) } ?? []
                if !bytes.isEmpty || (offsets[id] == nil && ended) {
                    let header = current == id || (action != nil && actions.count == 1) ? nil
                        : "==> \(record.stageName)/\(record.actionName) attempt \(record.attempt) <==\n"
                    write(header, bytes)
                    current = id
                    offsets[id, default: 0] += UInt64(bytes.count)
                }
                if !ended { settled = false }
            }
            let done = action.map { name in actions.contains { $0.actionName == name && $0.status.isTerminal } } ?? false
            if settled && (done || execution.isTerminal) { return execution }
            if let watcher { watcher.wait(timeout: 0.2) } else { usleep(200_000) }
        }
    }

    /// What a file holds from `offset` on (nothing when it is missing).
    static func readFrom(_ path: String, offset: UInt64) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: offset)) != nil, let data = try? handle.readToEnd() else { return [] }
        return [UInt8](data)
    }
}

