import ArgumentParser
import Foundation
import PipelineEngine

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one execution: EXEC is PIPELINE#N, its UUID, or a unique prefix of the UUID.")

    @OptionGroup var repository: RepositoryOptions
    @Argument var execution: String
    @Flag(help: "GetPipelineExecution's JSON plus stage and action states.") var json = false

    func run() throws {
        if let offline = try repository.offlineResults(json: json, command: "show") {
            guard let record = offline.find(execution) else {
                throw CommandError.failed("show \(execution): no execution \(execution) in \(offline.recordsRef) here (run `git fetch` to bring newer results)")
            }
            return print(offline.showText(record), terminator: "")
        }
        let layout = try repository.installedLayout()
        let store = try Store(path: layout.database)
        let reports = Reports(layout: layout, store: store)
        let record = try attempt("show \(execution)") { try store.findExecution(execution) }
        let notesName = try repository.settings(layout).notesName
        print(try attempt("show") { json ? Reports.json(try reports.showJSON(record)) : try reports.showText(record, notesName: notesName) }, terminator: json ? "\n" : "")
    }
}
