import ArgumentParser
import Foundation
import PipelineEngine

struct Rollback: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Roll a stage back: a ROLLBACK execution re-runs only that stage with an earlier execution's artifacts and variables.",
        discussion: "Default target: the newest execution that succeeded in the stage, other than the one that entered it last. With --wait, exits 3 unless the rollback succeeds.")

    @OptionGroup var repository: RepositoryOptions
    @Argument(help: "The pipeline.") var pipeline: String
    @Option(help: "The stage to roll back.") var stage: String
    @Option(help: "The execution to roll back to (PIPELINE#N, a UUID or a prefix of one).") var to: String?
    @Flag(help: "Wait for the rollback to end; exit 3 unless it succeeded.") var wait = false

    func run() throws {
        let layout = try repository.installedLayout()
        let user = try repository.actor(layout)
        let execution = try attempt("rollback") {
            try StageRollback.rollback(layout: layout, pipeline: pipeline, stage: stage, to: to, startedBy: user)
        }
        try attempt("start the runner") { try Runner.startInBackground(layout) }
        print("\(execution.label) (ROLLBACK) started: \(execution.statusSummary ?? "") at \(execution.sourceRevision.prefix(7))")
        if wait { try waitForEnd(of: execution, layout: layout) }
    }
}
