import ArgumentParser
import Foundation
import PipelineEngine

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List executions, newest first.")

    @OptionGroup var repository: RepositoryOptions
    @Argument(help: "Only this pipeline.") var pipeline: String?
    @Option(help: "How many.") var limit = 50
    @Flag(help: "ListPipelineExecutions' JSON.") var json = false

    func run() throws {
        if let offline = try repository.offlineResults(json: json, command: "history") {
            return print(offline.historyText(pipeline: pipeline, limit: limit), terminator: "")
        }
        let layout = try repository.installedLayout()
        let reports = Reports(layout: layout, store: try Store(path: layout.database))
        print(try attempt("history") { json ? Reports.json(try reports.historyJSON(pipeline: pipeline, limit: limit)) : try reports.historyText(pipeline: pipeline, limit: limit) }, terminator: json ? "\n" : "")
    }
}
