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
        guard name == "post-receive" else { throw Failure(message: "unknown hook \(name)", code: 2) }
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
            let environment = ProcessInfo.processInfo.environment
            let pusher = environment["GL_USER"] ?? environment["USER"] ?? environment["LOGNAME"] ?? "unknown"
            let result = PushHandler(layout: layout).handle(input: input, pusher: pusher)
            lines = result.lines
            if result.executions > 0 { try Runner.startInBackground(layout) }
        } catch {
            lines.append("git-pipeline: error: \(error) — the push went through; run `git pipeline doctor` on the server")
        }
        if !lines.isEmpty { print(lines.joined(separator: "\n")) }
    }
}

struct RunnerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runner",
        abstract: "Run waiting executions (the hook starts this in the background; --foreground for a service manager).")

    @OptionGroup var repository: RepositoryOptions

    @Flag(help: "Stay in the foreground and log to stderr; never exit when idle.")
    var foreground = false

    func run() async throws {
        let layout = try repository.installedLayout()
        var settings = try PipelineSettings(repository: try Repository(path: layout.gitDirectory))
        if foreground { settings.runnerIdleSeconds = .infinity }
        let runner = try Runner(layout: layout, settings: settings)
        let foreground = self.foreground
        try await runner.run { message in
            let line = "\(isoTime(Date().timeIntervalSince1970)) \(message)\n"
            FileHandle.standardError.write(Data(line.utf8))
            _ = foreground
        }
    }
}
