import Foundation
import PipelineModel

/// The machine-readable record of one execution, one JSON object per line in the records notes ref.
/// Lines are whole and self-describing, so mirrors can merge notes with `cat_sort_uniq`; a reader
/// keeps, per execution, the line with the highest `revision`.
public struct NoteRecord: Codable, Sendable, Equatable {
    public static let schemaVersion = 1

    public var schema: Int
    public var revision: Int64
    public var pipeline: String
    public var pipelineExecutionId: String
    public var number: Int
    public var status: String
    public var statusSummary: String?
    public var executionMode: String
    public var ref: String
    public var commit: String
    public var triggerType: String
    public var startTime: String
    public var endTime: String?
    public var lastUpdateTime: String
    public var durationSeconds: Double?
    public var definitionPath: String
    public var definitionError: String?
    public var sourceArtifact: String?
    public var stages: [Stage]

    public struct Stage: Codable, Sendable, Equatable {
        public var name: String
        /// nil while the stage has not started.
        public var status: String?
        public var actions: [Action]
    }

    public struct Action: Codable, Sendable, Equatable {
        public var name: String
        public var status: String?
        public var attempt: Int?
        public var durationSeconds: Double?
        public var summary: String?
        public var errorMessage: String?
        public var failedCommand: String?
    }

    public var label: String { "\(pipeline) #\(number)" }

    public func jsonLine() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Parses a records note: the newest line of each execution; lines it cannot read are skipped
    /// (a newer schema written by a newer git-pipeline), never fatal.
    public static func parse(_ text: String) -> [NoteRecord] {
        var latest: [String: NoteRecord] = [:]
        let decoder = JSONDecoder()
        for line in text.split(separator: "\n") {
            guard let record = try? decoder.decode(NoteRecord.self, from: Data(line.utf8)), record.schema <= schemaVersion else { continue }
            if let existing = latest[record.pipelineExecutionId], existing.revision >= record.revision { continue }
            latest[record.pipelineExecutionId] = record
        }
        return latest.values.sorted { ($0.pipeline, $0.number) < ($1.pipeline, $1.number) }
    }
}

/// Draws the human-readable note (SPEC §1): one block per pipeline, its latest execution on the commit.
public enum NoteRenderer {
    public static func render(_ records: [NoteRecord], notesName: String) -> String {
        var latest: [String: NoteRecord] = [:]
        for record in records where (latest[record.pipeline]?.number ?? 0) < record.number { latest[record.pipeline] = record }
        return latest.keys.sorted().map { block(latest[$0]!, notesName: notesName) }.joined(separator: "\n")
    }

    static func block(_ r: NoteRecord, notesName: String) -> String {
        let started = r.startTime.replacingOccurrences(of: "T", with: " ").prefix(16) + " UTC"
        var lines = ["\(r.label) \(r.status)  \(shortRefName(r.ref))  \(duration(r.durationSeconds ?? 0, precise: false))  \(started)"]
        if let error = r.definitionError {
            lines += error.split(separator: "\n").map { "  " + $0 }
            lines.append("  fix \(r.definitionPath) and push again; `git pipeline lint \(r.definitionPath)` checks it locally")
        }
        let width = r.stages.map(\.name.count).max() ?? 0
        let statusWidth = r.stages.map { ($0.status ?? "—").count }.max() ?? 0
        var details: [String] = []
        for stage in r.stages {
            let name = stage.name.padding(toLength: width, withPad: " ", startingAt: 0)
            guard let status = stage.status else {
                lines.append("  \(name)  —")
                continue
            }
            var parts = ["  \(name)  \(status.padding(toLength: statusWidth, withPad: " ", startingAt: 0))"]
            for action in stage.actions {
                var text = action.name
                if let seconds = action.durationSeconds { text += " " + duration(seconds, precise: true) }
                if action.status == "Failed" { text += " failed" }
                if action.status == "InProgress" { text += " running" }
                if let summary = action.summary, !summary.isEmpty, action.status != "Failed" { text += "  " + summary }
                parts.append(text)
                if action.status == "Failed" || action.status == "Abandoned" {
                    let reason = action.failedCommand.map { "command `\($0)` failed" + (action.errorMessage.map { " (\($0))" } ?? "") }
                        ?? action.errorMessage ?? "failed"
                    details.append("    \(action.name): \(reason)")
                    details.append("    log: git pipeline logs \(r.pipeline)#\(r.number) --action \(action.name)")
                }
            }
            lines.append(parts.joined(separator: "  "))
        }
        lines += details
        if let artifact = r.sourceArtifact { lines.append("  SourceArtifact sha256:\(artifact)") }
        if let summary = r.statusSummary, r.definitionError == nil { lines.append("  \(summary)") }
        return lines.joined(separator: "\n") + "\n"
    }


    /// `0.1s`, `35.0s` (precise) or `41s`; `2m05s`, `1h02m` when longer.
    static func duration(_ seconds: Double, precise: Bool) -> String {
        if seconds < 60 { return precise ? String(format: "%.1fs", seconds) : "\(Int(seconds.rounded()))s" }
        let total = Int(seconds.rounded())
        if total < 3600 { return String(format: "%dm%02ds", total / 60, total % 60) }
        return String(format: "%dh%02dm", total / 3600, (total % 3600) / 60)
    }
}

/// ISO 8601 UTC with seconds, as CodePipeline's API prints times.
public func isoTime(_ seconds: Double) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: Date(timeIntervalSince1970: seconds))
}
