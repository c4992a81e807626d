import ArgumentParser
import Foundation
import Git
import PipelineEngine

/// What the post-receive shim runs. It records and returns in milliseconds, exits 0 whatever happens
/// (a push is never blocked), and says what it did in `remote:` lines.
struct Hook: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Internal: the post-receive hook (reads <old> <new> <ref> lines on stdin).",
                                                    shouldDisplay: false)

    @Argument var name: String

    func run() throws { Self.run(name: name) }

    /// The hook's whole path, callable without the argument parser: every push pays for startup.
    public static func run(name: String) {
        let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        var lines: [String] = []
        do {
            guard name == "post-receive" else { throw Failure(message: "unknown hook \(name)") }
            let path = absolute(ProcessInfo.processInfo.environment["GIT_DIR"] ?? FileManager.default.currentDirectoryPath)
            let repository = try Repository(path: path)
            let layout = StateLayout(gitDirectory: repository.gitDirectory)
            guard layout.isInstalled else {
                print("git-pipeline: not installed in this repository (run `git pipeline install`); nothing recorded")
                return
            }
            let settings = try PipelineSettings(repository: repository)
            let parsed = RefUpdate.parse(input)
            lines += parsed.errors
            let store = try Store(path: layout.database)
            let pusher = ProcessInfo.processInfo.environment["GL_USER"] ?? ProcessInfo.processInfo.environment["USER"]
                ?? ProcessInfo.processInfo.environment["LOGNAME"] ?? "unknown"
            let result = try PostReceive(layout: layout, repository: repository, settings: settings).record(parsed.updates, store: store, pusher: pusher)
            lines += result.lines
            if !result.executions.isEmpty { try Runner.startInBackground(layout) }
        } catch {
            lines.append("error: \(error) — the push went through; run `git pipeline doctor` on the server")
        }
        print(lines.map { "git-pipeline: " + $0 }.joined(separator: "\n"))
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
