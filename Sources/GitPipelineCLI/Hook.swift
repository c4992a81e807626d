import ArgumentParser
import Foundation
import Git
import PipelineEngine

/// The post-receive hook's slow way: `git-pipeline-hook` runs this when no runner answered it.
/// It records the push itself (parsing new definitions), starts a runner, and says what it did.
struct Hook: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Internal: record a push (post-receive input on stdin).",
                                                    shouldDisplay: false)

    @Argument var name: String

    func run() throws {
        guard name == "post-receive" else { throw CommandError.usage("unknown hook \(name)") }
        Self.postReceive()
    }

    /// Records the push on stdin and prints what happened; never fails (a push is never blocked).
    static func postReceive() {
        let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        var lines: [String] = []
        do {
            let path = absolute(ProcessInfo.processInfo.environment["GIT_DIR"] ?? FileManager.default.currentDirectoryPath)
            let layout = StateLayout(gitDirectory: try Repository(path: path).gitDirectory)
            guard layout.isInstalled else {
                print("git-pipeline: not installed in this repository (run `git pipeline install`); nothing recorded")
                return
            }
            let result = PushHandler(layout: layout, store: try Store(path: layout.database)).handle(input: input, pusher: Identity.pusher())
            lines = result.lines
            if result.executions > 0 { try Runner.startInBackground(layout) }
        } catch {
            lines.append("git-pipeline: error: \(error) — the push went through; run `git pipeline doctor` on the server")
        }
        if !lines.isEmpty { print(lines.joined(separator: "\n")) }
    }
}
