import ArgumentParser
import Foundation
import Git
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
            Install.self, Uninstall.self, Doctor.self, Start.self, Stop.self, Retry.self, Rollback.self, Approve.self, Reject.self, Transition.self, Status.self, History.self, Show.self, Logs.self,
            Events.self, Archive.self, Lint.self, Secret.self, RunnerCommand.self, Hook.self,
        ])

    public init() {}

    /// Runs the command line and exits with SPEC §8's codes. The hook's slow way skips the argument
    /// parser and the async runtime: a push waits for it.
    public static func main(_ arguments: [String]) -> Never {
        if arguments == ["hook", "post-receive"] {
            Hook.postReceive()
            Foundation.exit(0)
        }
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
        } catch let failure as Failure {
            FileHandle.standardError.write(Data("git-pipeline: \(failure.message)\n".utf8))
            Foundation.exit(failure.code)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            if error is ExitCode { Foundation.exit(code.rawValue) }
            let message = fullMessage(for: error)
            // ArgumentParser's own errors are usage errors (its 64); ours print once, here.
            let isUsage = code.rawValue == 64 || message.hasPrefix("Error: ") || message.contains("Usage:")
            FileHandle.standardError.write(Data("git-pipeline: \(message)\n".utf8))
            Foundation.exit(isUsage ? 2 : 1)
        }
    }
}

/// A failed operation: the message is printed once, at the top, and the process exits with `code`.
struct Failure: Error {
    let message: String
    var code: Int32 = 1
}

/// Options every repository command takes.
struct RepositoryOptions: ParsableArguments {
    @Option(name: .customLong("git-dir"), help: "The repository (default: $GIT_DIR, or the one containing the current folder).")
    var gitDir: String?

    /// The repository's git directory, absolute.
    func gitDirectory() throws -> String { try findGitDirectory(gitDir) }

    /// The installed state of the repository; fails with how to install when missing.
    func installedLayout() throws -> StateLayout {
        let layout = StateLayout(gitDirectory: try gitDirectory())
        guard layout.isInstalled else {
            throw Failure(message: "git-pipeline is not installed in \(layout.gitDirectory); run `git pipeline install \(layout.gitDirectory)`")
        }
        return layout
    }
}

/// The git directory of `path` (default: $GIT_DIR, or the repository containing the current folder), absolute.
func findGitDirectory(_ path: String?) throws -> String {
    let start = path ?? ProcessInfo.processInfo.environment["GIT_DIR"] ?? FileManager.default.currentDirectoryPath
    do {
        return try Repository.discover(from: absolute(start)).gitDirectory
    } catch {
        throw Failure(message: "\(start) is not in a git repository; run this in a repository or pass --git-dir PATH")
    }
}

func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

/// Wraps engine errors into a Failure with the operation's context.
func attempt<T>(_ what: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let failure as Failure { throw failure } catch let refused as OperationError {
        throw Failure(message: "\(what): \(refused.message)", code: refused.isUsage ? 2 : 1)
    } catch {
        throw Failure(message: "\(what): \(error)")
    }
}

/// `--wait`: polls until the execution ends; exit 3 unless it succeeded (SPEC §8).
func waitForEnd(of execution: ExecutionRecord, layout: StateLayout) throws {
    let store = try Store(path: layout.database)
    while true {
        guard let current = try store.execution(id: execution.id) else { throw Failure(message: "\(execution.label) disappeared") }
        if current.isTerminal {
            print("\(current.label) \(current.status)" + (current.statusSummary.map { ": \($0)" } ?? ""))
            if current.status != "Succeeded" { throw ExitCode(3) }
            return
        }
        usleep(200_000)
    }
}
