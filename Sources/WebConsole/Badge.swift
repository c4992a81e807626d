import Foundation
import PipelineEngine

/// `/REPO/PIPELINE/badge.svg?branch=main`: the pipeline's latest status on the branch (any branch
/// without `branch`), as laminar's and GitLab's badges show it.
enum Badge {
    static func response(_ repository: ServedRepository, pipeline: String, branch: String?) -> ConsoleResponse {
        let ref = branch.flatMap { $0.isEmpty ? nil : ($0.hasPrefix("refs/") ? $0 : "refs/heads/" + $0) }
        let latest = (try? repository.store().executions(pipeline: pipeline, ref: ref, status: nil, limit: 1, offset: 0))?.page.first
        let status = latest?.status.rawValue ?? "no runs"
        var response = ConsoleResponse.text(svg(label: pipeline, status: status), type: "image/svg+xml")
        // Shown in README files and dashboards: never a stale status from a cache.
        response.headers.append(("Cache-Control", "no-cache, max-age=0"))
        return response
    }

    static func colour(_ status: String) -> String {
        switch status {
        case "Succeeded": "#2e7d32"
        case "Failed": "#c62828"
        case "InProgress": "#1565c0"
        case "Stopping", "Stopped": "#ef6c00"
        default: "#757575"
        }
    }

    /// Two boxes, the label in grey and the status in its colour; widths from the text at about
    /// 6.5 px per character of Verdana 11, as shields-style badges do.
    static func svg(label: String, status: String) -> String {
        let left = 10 + Int((Double(label.count) * 6.5).rounded()), right = 10 + Int((Double(status.count) * 6.5).rounded())
        let width = left + right
        let label = Pages.h(label), text = Pages.h(status)
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="20" role="img" aria-label="\(label): \(text)">
            <title>\(label): \(text)</title>
            <rect width="\(left)" height="20" fill="#555"/><rect x="\(left)" width="\(right)" height="20" fill="\(colour(status))"/>
            <g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">
            <text x="\(left / 2)" y="14">\(label)</text><text x="\(left + right / 2)" y="14">\(text)</text></g>
            </svg>

            """
    }
}
