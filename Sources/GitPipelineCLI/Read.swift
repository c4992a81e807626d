import ArgumentParser
import Foundation
import Git
import PipelineEngine

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List executions, newest first.")

    @OptionGroup var repository: RepositoryOptions
    @Argument(help: "Only this pipeline.") var pipeline: String?
    @Option(help: "How many.") var limit = 50
    @Flag(help: "ListPipelineExecutions' JSON.") var json = false

    func run() throws {
        let layout = try repository.installedLayout()
        let reports = Reports(layout: layout, store: try Store(path: layout.database))
        print(try attempt("history") { json ? Reports.json(try reports.historyJSON(pipeline: pipeline, limit: limit)) : try reports.historyText(pipeline: pipeline, limit: limit) }, terminator: json ? "\n" : "")
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one execution: EXEC is PIPELINE#N, its UUID, or a unique prefix of the UUID.")

    @OptionGroup var repository: RepositoryOptions
    @Argument var execution: String
    @Flag(help: "GetPipelineExecution's JSON plus stage and action states.") var json = false

    func run() throws {
        let layout = try repository.installedLayout()
        let store = try Store(path: layout.database)
        let reports = Reports(layout: layout, store: store)
        let record = try attempt("show \(execution)") { try store.findExecution(execution) }
        let settings = try PipelineSettings(repository: try Repository(path: layout.gitDirectory))
        let notesName = String(settings.notesRef.dropFirst("refs/notes/".count))
        print(try attempt("show") { json ? Reports.json(try reports.showJSON(record)) : try reports.showText(record, notesName: notesName) }, terminator: json ? "\n" : "")
    }
}

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

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Draw each pipeline's stages with their latest execution and what waits.")

    @OptionGroup var repository: RepositoryOptions
    @Argument(help: "Only this pipeline.") var pipeline: String?
    @Flag(help: "GetPipelineState's JSON (an array of them when no pipeline is named).") var json = false

    func run() throws {
        let layout = try repository.installedLayout()
        let store = try Store(path: layout.database)
        let reports = Reports(layout: layout, store: store)
        let names = try pipeline.map { [$0] } ?? store.pipelineNames()
        if json {
            let states = try attempt("status") { try names.map { try reports.statusJSON(pipeline: $0) } }
            print(Reports.json(pipeline == nil ? states as Any : states.first as Any))
            return
        }
        if names.isEmpty { print("no pipelines have run yet: push a commit with a .pipeline.yml"); return }
        print(try attempt("status") { try names.map { try reports.statusText(pipeline: $0) }.joined(separator: "\n") }, terminator: "")
    }
}

struct Archive: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the SourceArtifact of a revision: the same bytes the Source action stores (its sha256 is in the note).")

    @OptionGroup var repository: RepositoryOptions
    @Argument(help: "The revision (default: HEAD).") var revision = "HEAD"
    @Option(name: .shortAndLong, help: "The zip file to write (default: standard output).") var output: String?

    func run() throws {
        let archiver = SourceArchiver(gitDirectory: try repository.gitDirectory())
        let digest = try attempt("archive \(revision)") {
            try archiver.archive(revision: revision, output: output.map(absolute)) { FileHandle.standardError.write(Data("git-pipeline: \($0)\n".utf8)) }
        }
        FileHandle.standardError.write(Data("sha256:\(digest)\(output.map { "  " + $0 } ?? "")\n".utf8))
    }
}

struct Events: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print state-change events (CodePipeline's EventBridge events), oldest first.")

    @OptionGroup var repository: RepositoryOptions
    @Flag(help: "Keep printing new events as they happen.") var follow = false
    @Flag(help: "One EventBridge event (JSON) per line.") var json = false

    func run() throws {
        let layout = try repository.installedLayout()
        let reports = Reports(layout: layout, store: try Store(path: layout.database))
        var last: Int64 = 0
        while true {
            for event in try attempt("events", { try reports.events(after: last) }) {
                print(json ? Reports.eventJSON(event) : reports.eventText(event))
                last = event.id ?? last
            }
            guard follow else { return }
            fflush(stdout)
            usleep(300_000)
        }
    }
}
