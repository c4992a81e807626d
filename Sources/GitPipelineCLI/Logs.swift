import ArgumentParser
import Foundation
import PipelineEngine

struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the logs of an execution's actions.")

    @OptionGroup var repository: RepositoryOptions
    @Argument var execution: String
    @Option(help: "Only this action.") var action: String?

    func run() throws {
        let layout = try repository.installedLayout()
        let store = try Store(path: layout.database)
        let record = try attempt("logs \(execution)") { try store.findExecution(execution) }
        print(try attempt("logs") { try Reports(layout: layout, store: store).logs(record, action: action) }, terminator: "")
    }
}
