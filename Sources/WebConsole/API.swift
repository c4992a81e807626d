import Foundation
import PipelineEngine

/// `/api/…`: the same JSON as the CLI's `--json` (Results/APIViews.swift), so a script can use
/// either.
///
///     GET /api                                   {"repositories": [{"name", "pipelines"}]}
///     GET /api/REPO/status                       status --json       {"pipelineStates": [...]}
///     GET /api/REPO/status/PIPELINE              status PIPELINE --json (GetPipelineState)
///     GET /api/REPO/history[?pipeline=P&limit=N] history --json      (ListPipelineExecutions)
///     GET /api/REPO/executions/EXEC              show EXEC --json    (GetPipelineExecution)
///     GET /api/REPO/events[?after=ID]            events --json, as {"events": [...]}
///     GET /api/REPO/PIPELINE[/N]                 the pipeline's state, or execution N
enum API {
    static func repositories(_ catalog: RepositoryCatalog) -> String {
        struct Entry: Encodable { var name: String; var pipelines: [String] }
        let entries = catalog.all().map { entry in
            Entry(name: entry.name, pipelines: (try? Store(path: entry.layout.database).pipelineNames()) ?? [])
        }
        return jsonText(["repositories": entries], pretty: true)
    }

    static func read(_ repository: ServedRepository, _ segments: [String], query: [String: String]) throws -> ConsoleResponse {
        let reports = try repository.reports()
        let store = try repository.store()
        func known(_ pipeline: String) throws -> String {
            guard try store.pipelineNames().contains(pipeline) else { throw ConsoleNotFound(message: "no pipeline \(pipeline) in \(repository.name)") }
            return pipeline
        }
        switch segments.count {
        case 0:
            return .json(jsonText(["pipelines": try store.pipelineNames()], pretty: true))
        case 1 where segments[0] == "status":
            return .json(Reports.json(["pipelineStates": try store.pipelineNames().map { try reports.statusJSON(pipeline: $0) }]))
        case 2 where segments[0] == "status":
            return .json(Reports.json(try reports.statusJSON(pipeline: try known(segments[1]))))
        case 1 where segments[0] == "history":
            let limit = min(max(Int(query["limit"] ?? "") ?? 100, 1), 1000)
            return .json(Reports.json(try reports.historyJSON(pipeline: try query["pipeline"].map(known), limit: limit)))
        case 2 where segments[0] == "executions":
            return .json(Reports.json(try reports.showJSON(try find(store, segments[1]))))
        case 1 where segments[0] == "events":
            let after = Int64(query["after"] ?? "") ?? 0
            let events = try reports.events(after: after, limit: min(max(Int(query["limit"] ?? "") ?? 1000, 1), 10000))
            return .json("{\"events\": [" + events.map { reports.eventJSON($0) }.joined(separator: ",\n") + "]}")
        case 1:
            return .json(Reports.json(try reports.statusJSON(pipeline: try known(segments[0]))))
        case 2 where Int(segments[1]) != nil:
            return .json(Reports.json(try reports.showJSON(try find(store, "\(try known(segments[0]))#\(segments[1])"))))
        default:
            throw ConsoleNotFound(message: "no such API path: /api/\(repository.name)/\(segments.joined(separator: "/"))")
        }
    }

    static func find(_ store: Store, _ name: String) throws -> ExecutionRecord {
        do { return try store.findExecution(name) } catch { throw ConsoleNotFound(message: "\(error)") }
    }
}
