import ArgumentParser
import Foundation
import PipelineEngine

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Draw each pipeline's stages with their latest execution and what waits.")

    @OptionGroup var repository: RepositoryOptions
    @Argument(help: "Only this pipeline.") var pipeline: String?
    @Flag(help: "GetPipelineState's JSON; with no pipeline named, {\"pipelineStates\": [...]}, one per pipeline.") var json = false

    func run() throws {
        if let offline = try repository.offlineResults(json: json, command: "status") {
            return print(offline.statusText(pipeline: pipeline), terminator: "")
        }
        let layout = try repository.installedLayout()
        let store = try Store(path: layout.database)
        let reports = Reports(layout: layout, store: store)
        let names = try pipeline.map { [$0] } ?? store.pipelineNames()
        if json {
            let states = try attempt("status") { try names.map { try reports.statusJSON(pipeline: $0) } }
            // No AWS operation prints a bare array: every pipeline's state goes in one object.
            print(pipeline == nil ? Reports.json(["pipelineStates": states]) : Reports.json(states.first))
            return
        }
        if names.isEmpty { print("no pipelines have run yet: push a commit with a .pipeline.yml"); return }
        print(try attempt("status") { try names.map { try reports.statusText(pipeline: $0) }.joined(separator: "\n") }, terminator: "")
    }
}
