import ArgumentParser
import Foundation
import Git
import PipelineEngine

struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop an execution: running actions finish and nothing new starts; --abandon kills them.")

    @OptionGroup var repository: RepositoryOptions
    @Argument(help: "PIPELINE#N, an execution's UUID, or a unique prefix of it.") var execution: String
    @Flag(help: "Mark running actions Abandoned and stop their process groups (TERM, then KILL).") var abandon = false
    @Option(help: "Why, kept in the execution's status summary.") var reason: String?

    func run() throws {
        let layout = try repository.installedLayout()
        let user = try repository.actor(layout)
        print(try attempt("stop \(execution)") {
            try StopExecution.stop(layout: layout, execution: execution, abandon: abandon, reason: reason, by: user)
        })
    }
}
