import Foundation
import PipelineModel

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
                if let summary = action.summary, !summary.isEmpty, action.status != "Failed" { text += "  " + Sanitized.text(summary) }
                parts.append(text)
                if action.status == "Failed" || action.status == "Abandoned" {
                    let reason = Sanitized.text(action.failedCommand.map { "command `\($0)` failed" + (action.errorMessage.map { " (\($0))" } ?? "") }
                        ?? action.errorMessage ?? "failed")
                    details.append("    \(action.name): \(reason)")
                    details.append("    log: git pipeline logs \(r.pipeline)#\(r.number) --action \(action.name)")
                }
            }
            lines.append(parts.joined(separator: "  "))
        }
        lines += details
        if let artifact = r.sourceArtifact { lines.append("  SourceArtifact sha256:\(artifact)") }
        if let summary = r.statusSummary, r.definitionError == nil { lines.append("  \(Sanitized.text(summary))") }
        for warning in r.warnings ?? [] { lines.append("  " + warning) }
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
