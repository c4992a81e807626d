import ArgumentParser
import Foundation
import PipelineEngine

/// The options approve and reject share.
struct ApprovalOptions: ParsableArguments {
    @OptionGroup var repository: RepositoryOptions
    @Argument(help: "PIPELINE#N, an execution's UUID, or a unique prefix of it.") var execution: String
    @Option(help: "The stage of the approval action.") var stage: String
    @Option(help: "The approval action.") var action: String
    @Option(help: "What you say with your decision (kept, shown in the note).") var summary: String?

    func decide(approve: Bool) throws {
        let layout = try repository.installedLayout()
        let user = try repository.actor(layout)
        print(try attempt(approve ? "approve" : "reject") {
            try ApprovalDecision.decide(layout: layout, execution: execution, stage: stage, action: action, approve: approve, summary: summary, by: user, approvers: try repository.settings(layout).approvers)
        })
    }
}

struct Approve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Approve a waiting Manual approval action.")
    @OptionGroup var options: ApprovalOptions
    func run() throws { try options.decide(approve: true) }
}
