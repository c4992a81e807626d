import Foundation
import PipelineModel

/// Draws the human-readable note (SPEC §1): one block per pipeline, its latest execution on the
/// commit, then one line for every other execution of it that ran on the commit (another branch,
/// a start by hand), newest first: none is hidden.
public enum NoteRenderer {
    public static func render(_ records: [NoteRecord], notesName: String) -> String {
        let byPipeline = Dictionary(grouping: records, by: \.pipeline)
        return byPipeline.keys.sorted().map { pipeline in
            let runs = byPipeline[pipeline]!.sorted { $0.number > $1.number }
            return block(runs[0], notesName: notesName) + runs.dropFirst().map { "  also on this commit: " + header($0) + "\n" }.joined()
        }.joined(separator: "\n")
    }

    /// `app #12 Succeeded  main  41s  2026-11-22 10:04 UTC`
    static func header(_ r: NoteRecord) -> String {
        let started = r.startTime.replacingOccurrences(of: "T", with: " ").prefix(16) + " UTC"
        return "\(r.label) \(r.status)  \(shortRefName(r.ref))  \(duration(r.durationSeconds ?? 0, precise: false))  \(started)"
    }

    static func block(_ r: NoteRecord, notesName: String) -> String {
        var lines = [header(r)]
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
                if action.status == "Abandoned" { text += " abandoned" }
                if action.status == "InProgress" { text += " running" }
                if let summary = action.summary, !summary.isEmpty, action.status != "Failed" { text += "  " + Sanitized.text(summary) }
                parts.append(text)
                if action.status == "Failed" || action.status == "Abandoned" {
                    // An abandoned action was stopped, not failed: its exit status (143, SIGTERM's) says nothing.
                    let reason = action.status == "Abandoned"
                        ? "abandoned by a stop" + (action.failedCommand.map { " while running `\(Sanitized.text($0))`" } ?? "")
                        : Sanitized.text(action.failedCommand.map { "command `\($0)` failed" + (action.errorMessage.map { " (\($0))" } ?? "") }
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
    public static func duration(_ seconds: Double, precise: Bool) -> String {
        if seconds < 60 { return precise ? String(format: "%.1fs", seconds) : "\(Int(seconds.rounded()))s" }
        let total = Int(seconds.rounded())
        if total < 3600 { return String(format: "%dm%02ds", total / 60, total % 60) }
        return String(format: "%dh%02dm", total / 3600, (total % 3600) / 60)
    }
}
