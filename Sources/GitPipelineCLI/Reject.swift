import ArgumentParser
import Foundation
import PipelineEngine

struct Reject: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reject a waiting Manual approval action (its stage fails).")
    @OptionGroup var options: ApprovalOptions
    func run() throws { try options.decide(approve: false) }
}
