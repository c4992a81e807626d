import ArgumentParser
import Foundation
import PipelineEngine

/// `git-pipeline`, which git runs as `git pipeline`.
public struct GitPipeline: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "git-pipeline",
        abstract: "CodePipeline-style CI/CD inside a bare git repository; results as git notes.",
        discussion: """
            Exit codes (every command): 0 success, 1 the operation failed, 2 usage error, \
            3 the pipeline execution it waited for did not succeed.
            """,
        version: "0.1.0",
        subcommands: [
            Install.self, Uninstall.self, Doctor.self, Start.self, Stop.self, Retry.self, Rollback.self, Approve.self, Reject.self,
            CloneSetup.self, SSHCommand.self, Transition.self, Status.self, Watch.self, History.self, Show.self, Logs.self, Events.self, Archive.self, Lint.self, Secret.self,
            Serve.self, RunnerCommand.self,
        ])

    public init() {}

    /// Runs the command line and exits with SPEC §8's codes.
    public static func main(_ arguments: [String]) -> Never {
        Task { await run(arguments) }
        dispatchMain()
    }

    static func run(_ arguments: [String]) async -> Never {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            Foundation.exit(0)
        } catch {
            let code = ExitCodes.code(for: error)
            if let message = ExitCodes.message(for: error) {
                if code == 0 { print(message) } else { FileHandle.standardError.write(Data("git-pipeline: \(message)\n".utf8)) }
            }
            Foundation.exit(code)
        }
    }
}
