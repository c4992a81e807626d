import ArgumentParser
import Foundation
import PipelineEngine

struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the logs of an execution's actions.")

    @OptionGroup var repository: RepositoryOptions
    @Argument var execution: String
    @Option(help: "Only this action.") var action: String?
    @Flag(name: [.short, .long], help: "Keep printing the logs as they grow, until the execution (with --action: that action) ends.")
    var follow = false

    func run() throws {
        let layout = try repository.installedLayout()
        let store = try Store(path: layout.database)
        let record = try attempt("logs \(execution)") { try store.findExecution(execution) }
        guard follow else {
            print(try attempt("logs") { try Reports(layout: layout, store: store).logs(record, action: action) }, terminator: "")
            return
        }
        let output = FileHandle.standardOutput
        let ended = try attempt("logs --follow") {
            try Watching.followLogs(layout: layout, executionId: record.id, action: action) { header, bytes in
                if let header { output.write(Data(header.utf8)) }
                output.write(Data(bytes))
            }
        }
        if let action, try store.actions(of: record.id).contains(where: { $0.actionName == action }) == false {
            throw CommandError.failed("logs --follow: \(ended.label) ended (\(ended.status.rawValue)) without running action \(action)")
        }
    }
}
