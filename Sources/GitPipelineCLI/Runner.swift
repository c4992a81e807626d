import ArgumentParser
import Foundation
import Git
import PipelineEngine

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
