import ArgumentParser
import Foundation
import PipelineEngine

struct Transition: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Disable or enable the transition into a stage: while disabled, executions wait in front of it.")

    enum Change: String, ExpressibleByArgument { case disable, enable }

    @OptionGroup var repository: RepositoryOptions
    @Argument(help: "disable or enable") var change: Change
    @Argument(help: "The pipeline.") var pipeline: String
    @Option(help: "The stage whose entrance changes.") var stage: String
    @Option(help: "Why (shown by status).") var reason: String?

    func run() throws {
        let layout = try repository.installedLayout()
        let user = try repository.actor(layout)
        print(try attempt("transition \(change.rawValue)") {
            try Transitions.set(layout: layout, pipeline: pipeline, stage: stage, enabled: change == .enable, reason: reason, by: user)
        })
    }
}
