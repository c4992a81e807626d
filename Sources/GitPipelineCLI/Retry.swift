import ArgumentParser
import Foundation
import PipelineEngine

struct Retry: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the failed stage of an execution again (failed actions only, or --all-actions); the same execution goes on.")

    @OptionGroup var repository: RepositoryOptions
    @Argument(help: "PIPELINE#N, an execution's UUID, or a unique prefix of it.") var execution: String
    @Option(help: "The failed stage (default: the one that failed).") var stage: String?
    @Flag(help: "Run every action of the stage again, not only the failed ones.") var allActions = false

    func run() throws {
        let layout = try repository.installedLayout()
        print(try attempt("retry \(execution)") {
            try RetryExecution.retry(layout: layout, execution: execution, stage: stage, allActions: allActions, by: try repository.actor(layout))
        })
        try attempt("start the runner") { try Runner.startInBackground(layout) }
    }
}
