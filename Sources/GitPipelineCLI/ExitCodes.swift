import ArgumentParser
import PipelineEngine

/// How a command fails. Each case has its exit code (SPEC §8); the message is printed once, at the top.
enum CommandError: Error {
    /// The operation failed (exit 1).
    case failed(String)
    /// The call's words are wrong (exit 2).
    case usage(String)
    /// The execution waited for did not succeed; its status was printed (exit 3).
    case executionDidNotSucceed
    /// The command printed what is wrong itself, as lint and doctor do (exit 1).
    case reported
}

/// The one map from errors to SPEC §8's exit codes and the message printed with them.
enum ExitCodes {
    static func code(for error: any Error) -> Int32 {
        switch error {
        case let error as CommandError:
            switch error {
            case .failed, .reported: 1
            case .usage: 2
            case .executionDidNotSucceed: 3
            }
        case let error as OperationError: error.isUsage ? 2 : 1
        default:
            // ArgumentParser's own: help and version are a success, a bad call a usage error.
            switch GitPipeline.exitCode(for: error) {
            case .success: 0
            case .validationFailure: 2
            default: 1
            }
        }
    }

    /// What to print, or nil when the command already said it.
    static func message(for error: any Error) -> String? {
        switch error {
        case let error as CommandError:
            switch error {
            case .failed(let message), .usage(let message): message
            case .executionDidNotSucceed, .reported: nil
            }
        case let error as OperationError: error.message
        default: GitPipeline.fullMessage(for: error)
        }
    }
}

/// Runs an engine call and gives its error the operation's context: a refusal keeps its exit code
/// (usage or failure), anything else is a failure of `what`.
func attempt<T>(_ what: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as CommandError { throw error } catch let refused as OperationError {
        throw refused.isUsage ? CommandError.usage("\(what): \(refused.message)") : CommandError.failed("\(what): \(refused.message)")
    } catch {
        throw CommandError.failed("\(what): \(error)")
    }
}
