import Foundation
import Git

/// `git push -o ci.wait`: the progress of the push's executions as `git-pipeline:` lines for the
/// pusher's terminal (git shows them as `remote:` lines), until each has ended or waits for an
/// approval: every action as it starts and ends, a failed one with its error and the last lines of
/// its log (masked as the log is), and each execution's end with where its results are.
struct PushProgress {
    let layout: StateLayout
    let executionIds: [String]
    static let tailLines = 12

    /// Calls `send` with each batch of lines; stops early when `send` fails (the pusher went away).
    func stream(_ send: (String) -> Bool) {
        guard let store = try? Store(path: layout.database) else {
            _ = send("git-pipeline: ci.wait: cannot open the store; the executions go on — see `git log --notes`\n")
            return
        }
        let notes = (try? Repository(path: layout.gitDirectory)).flatMap { try? PipelineSettings(repository: $0).notesName } ?? "ci"
        let watcher = ChangeSignal.Watcher(store.changes)
        var said: [Int64: ActionStatus] = [:]
        var finished: Set<String> = []
        while finished.count < executionIds.count {
            var out = ""
            for id in executionIds where !finished.contains(id) {
                guard let execution = try? store.execution(id: id) else { finished.insert(id); continue }
                for action in (try? store.actions(of: id)) ?? [] {
                    guard let key = action.id, said[key] != action.status else { continue }
                    let name = "\(execution.label) \(action.stageName)/\(action.actionName)"
                    if action.status == .inProgress {
                        out += "git-pipeline: \(name) started\n"
                        if action.category == "Approval" {
                            out += "git-pipeline: \(name) waits for an approval: git pipeline approve \(execution.pipeline)#\(execution.number) " +
                                "--stage \(action.stageName) --action \(action.actionName); the push stops waiting here\n"
                            finished.insert(id)
                        }
                    } else {
                        let seconds = action.duration(now: Date().timeIntervalSince1970).map { String(format: " in %.1fs", $0) } ?? ""
                        out += "git-pipeline: \(name) \(action.status.rawValue)\(seconds)" + (action.errorMessage.map { ": \($0)" } ?? "") + "\n"
                        if action.status != .succeeded { out += tail(action.logPath) }
                    }
                    said[key] = action.status
                }
                if execution.isTerminal {
                    let took = execution.endedAt.map { String(format: " in %.1fs", $0 - execution.createdAt) } ?? ""
                    out += "git-pipeline: \(execution.label) \(execution.status.rawValue)\(took) — git log --notes=\(notes) -1 \(execution.sourceRevision.prefix(7))\n"
                    if let error = execution.definitionError { out += error.split(separator: "\n").map { "git-pipeline:   \($0)\n" }.joined() }
                    finished.insert(id)
                }
            }
            if !out.isEmpty, !send(out) { return }
            if finished.count < executionIds.count {
                if let watcher { watcher.wait(timeout: 1) } else { usleep(300_000) }
            }
        }
    }

    /// The last lines of a log, indented, for a failed action.
    func tail(_ path: String?) -> String {
        guard let path, let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > 8192 ? size - 8192 : 0)
        let text = String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(text.hasSuffix("\n") ? 1 : 0).suffix(Self.tailLines)
        return lines.map { "git-pipeline:   | \($0)\n" }.joined()
    }
}
