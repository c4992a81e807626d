import Foundation
import Git

/// `history`, `show` and `status` in a clone, offline: from the records notes
/// (`refs/notes/ci-records`) that `git fetch` brought, the newest record of each execution.
public struct CloneResults {
    public let records: [NoteRecord]
    public let recordsRef: String

    public init(repository: Repository, notesRef: String) throws {
        recordsRef = notesRef + "-records"
        var latest: [String: NoteRecord] = [:]
        for (_, text) in try repository.allNotes(recordsRef) {
            for record in NoteRecord.parse(text) where (latest[record.pipelineExecutionId]?.revision ?? -1) < record.revision {
                latest[record.pipelineExecutionId] = record
            }
        }
        records = latest.values.sorted { ($0.startTime, $0.pipeline, $0.number) > ($1.startTime, $1.pipeline, $1.number) }
    }

    var header: String { "(from \(recordsRef) in this clone, as last fetched; `git fetch` brings newer results)\n" }

    static func branch(_ ref: String) -> String {
        for prefix in ["refs/heads/", "refs/tags/"] where ref.hasPrefix(prefix) { return String(ref.dropFirst(prefix.count)) }
        return ref
    }

    static func duration(_ seconds: Double?) -> String { seconds.map { NoteRenderer.duration($0, precise: false) } ?? "-" }

    /// Newest first, as `history` prints it on the server.
    public func historyText(pipeline: String?, limit: Int) -> String {
        let rows = records.filter { pipeline == nil || $0.pipeline == pipeline }.prefix(limit)
        if rows.isEmpty {
            return header + "no results here: run `git fetch` (after `git pipeline clone-setup`) to bring them from the server\n"
        }
        let width = max(14, rows.map(\.label.count).max() ?? 0)
        return header + rows.map { r in
            "\(r.label.padding(toLength: width, withPad: " ", startingAt: 0)) \(r.status.padding(toLength: 11, withPad: " ", startingAt: 0)) " +
                "\(Self.branch(r.ref))@\(r.commit.prefix(7))  \(Self.duration(r.durationSeconds))  \(r.startTime)  \(r.pipelineExecutionId)"
        }.joined(separator: "\n") + "\n"
    }

    /// One execution (`app#3`, `app #3` or its id): its stages and actions.
    public func find(_ name: String) -> NoteRecord? {
        let compact = name.replacingOccurrences(of: " ", with: "")
        return records.first { $0.pipelineExecutionId == name || "\($0.pipeline)#\($0.number)" == compact }
    }

    public func showText(_ r: NoteRecord) -> String {
        var out = header + "\(r.label) \(r.status)  \(Self.branch(r.ref))@\(r.commit.prefix(7))  \(r.triggerType)  \(r.executionMode)\n"
        out += "  started \(r.startTime)" + (r.endTime.map { ", ended \($0)" } ?? "") + ", \(Self.duration(r.durationSeconds))\n"
        if let summary = r.statusSummary { out += "  \(Sanitized.text(summary))\n" }
        if let error = r.definitionError { out += error.split(separator: "\n").map { "  \($0)\n" }.joined() }
        for stage in r.stages {
            out += "  \(stage.name): \(stage.status ?? "not started")\n"
            for action in stage.actions {
                var line = "    \(action.name): \(action.status ?? "not started")"
                if let attempt = action.attempt, attempt > 1 { line += " (attempt \(attempt))" }
                if let seconds = action.durationSeconds { line += "  \(Self.duration(seconds))" }
                if let summary = action.summary { line += "  \(Sanitized.text(summary))" }
                if let error = action.errorMessage { line += "  \(Sanitized.text(error))" }
                out += line + "\n"
            }
        }
        if let artifact = r.sourceArtifact { out += "  SourceArtifact " + (artifact.hasPrefix("sha256:") ? artifact : "sha256:" + artifact) + "\n" }
        return out + "  the logs are on the server: git pipeline logs \(r.pipeline)#\(r.number)\n"
    }

    /// The latest execution of each pipeline (per branch), with its stages.
    public func statusText(pipeline: String?) -> String {
        var seen: Set<String> = []
        var out = header
        for r in records where pipeline == nil || r.pipeline == pipeline {
            guard seen.insert(r.pipeline + " " + r.ref).inserted else { continue }
            let stages = r.stages.map { "\($0.name) \($0.status ?? "-")" }.joined(separator: " → ")
            out += "\(r.pipeline) on \(Self.branch(r.ref)): \(r.label) \(r.status)  @\(r.commit.prefix(7))  \(r.startTime)\n  \(stages)\n"
        }
        if seen.isEmpty { out += "no results here: run `git fetch` (after `git pipeline clone-setup`) to bring them from the server\n" }
        return out
    }
}
