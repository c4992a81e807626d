import Foundation
import Git

/// Records a push (post-receive input) and returns the lines to show the pusher. The runner's hook
/// service runs it for `git-pipeline-hook`; `git pipeline hook post-receive` runs it when no runner
/// is there to ask. Definitions come from the store's parse cache; new ones are parsed first.
public struct PushHandler: Sendable {
    let layout: StateLayout
    let store: Store
    let clock: any WallClock

    public init(layout: StateLayout, store: Store, clock: any WallClock = SystemClock()) {
        self.layout = layout
        self.store = store
        self.clock = clock
    }

    public func handle(input: String, pusher: String) -> (lines: [String], executions: Int) {
        let parsed = RefUpdate.parse(input)
        var lines = parsed.errors
        var executions = 0
        do {
            let repository = try Repository(path: layout.gitDirectory)
            let settings = try PipelineSettings(repository: repository)
            let recorder = PushRecorder(repository: repository, store: store, repositoryName: layout.repositoryName,
                                        notesName: settings.notesName, clock: clock)
            let recorded = try recorder.record(parsed.updates, pusher: pusher)
            lines += recorded.lines
            executions = recorded.executions.count
        } catch {
            lines.append("error: \(error) — the push went through; run `git pipeline doctor` on the server")
        }
        return (lines.map { "git-pipeline: " + $0 }, executions)
    }
}
