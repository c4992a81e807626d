import ArgumentParser
import Foundation
import Git
import PipelineEngine
import PipelineHook

/// The slow half of the post-receive hook. `git-pipeline-hook` (what the shim runs) records pushes
/// from the store's definition cache; when a pushed revision has a definition it has not seen, it
/// runs this, which parses the new definitions into the cache and hands back to it.
struct Hook: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Internal: parse pushed definitions for git-pipeline-hook.",
                                                    shouldDisplay: false)

    @Argument var name: String

    func run() throws { Self.run(name: name) }

    static func run(name: String) {
        let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        let hook = (ProcessLauncher.currentExecutable as NSString).deletingLastPathComponent + "/git-pipeline-hook"
        do {
            guard name == "post-receive" else { throw Failure(message: "unknown hook \(name)") }
            let path = absolute(ProcessInfo.processInfo.environment["GIT_DIR"] ?? FileManager.default.currentDirectoryPath)
            let layout = StateLayout(gitDirectory: try Repository(path: path).gitDirectory)
            try DefinitionCache.warm(layout: layout, updates: RefUpdate.parse(input).updates)
            var environment = ProcessLauncher.cleanEnvironment()
            environment["GIT_DIR"] = layout.gitDirectory
            environment[HookMain.parsedMarker] = "1"
            execWithInput(hook, ["post-receive"], input: input, environment: environment)
            print("git-pipeline: error: cannot run \(hook); reinstall git-pipeline (both binaries side by side)")
        } catch {
            print("git-pipeline: error: \(error) — the push went through; run `git pipeline doctor` on the server")
        }
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
