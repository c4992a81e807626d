import Foundation

/// What a push asked with `git push -o` (the hook refused any other `ci.` option before the refs
/// moved): values from the pusher, data only.
struct PushOptions: Sendable, Equatable {
    /// `ci.skip`: record the push, run nothing.
    var skip = false
    /// `ci.wait`: the push waits for its executions and streams their progress.
    var wait = false
    /// `ci.variable=NAME=VALUE`, the last one of a name winning.
    var variables: [String: String] = [:]
    /// `ci.pipeline=NAME`: only that pipeline runs.
    var pipeline: String?

    init(_ options: [String] = []) {
        for option in options {
            if option == "ci.skip" { skip = true }
            else if option == "ci.wait" { wait = true }
            else if option.hasPrefix("ci.pipeline=") { pipeline = String(option.dropFirst("ci.pipeline=".count)) }
            else if option.hasPrefix("ci.variable="), let equals = option.dropFirst("ci.variable=".count).firstIndex(of: "=") {
                let assignment = option.dropFirst("ci.variable=".count)
                variables[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
            }
        }
    }

    /// `[skip ci]` or `[ci skip]` in a commit message (any case), as GitLab and others read it.
    static func messageSkips(_ message: String) -> Bool {
        let lower = message.lowercased()
        return lower.contains("[skip ci]") || lower.contains("[ci skip]")
    }
}
