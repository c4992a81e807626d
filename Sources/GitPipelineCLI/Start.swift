import ArgumentParser
import Foundation
import PipelineEngine

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start an execution by hand: of the default branch's tip, or of --revision (a branch, tag or commit).",
        discussion: "With --wait, exits 3 when the execution does not succeed.")

    @OptionGroup var repository: RepositoryOptions
    @Argument(help: "The pipeline (needed when the revision defines several).") var pipeline: String?
    @Option(help: "A branch, tag or commit (default: HEAD's branch).") var revision: String?
    @Option(name: .customLong("variable"), help: "NAME=VALUE overriding a pipeline variable (repeatable).") var variables: [String] = []
    @Flag(help: "Wait for the execution to end; exit 3 unless it succeeded.") var wait = false

    func validate() throws {
        for variable in variables where !variable.contains("=") || variable.hasPrefix("=") {
            throw ValidationError("--variable takes NAME=VALUE, not `\(variable)`")
        }
    }

    func run() throws {
        let layout = try repository.installedLayout()
        var values: [String: String] = [:]
        for variable in variables {
            let parts = variable.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            values[String(parts[0])] = String(parts[1])
        }
        let user = try repository.actor(layout)
        let execution = try attempt("start") {
            try ManualStart.start(layout: layout, pipeline: pipeline, revision: revision, variables: values, startedBy: user)
        }
        try attempt("start the runner") { try Runner.startInBackground(layout) }
        let short = String(execution.sourceRevision.prefix(7))
        print("\(execution.label) started for \(execution.refShortName)@\(short) (\(execution.id)) — git log --notes=\(try repository.settings(layout).notesName) -1 \(short)")
        if wait { try waitForEnd(of: execution, layout: layout) }
    }
}
