import ArgumentParser
import Foundation
import PipelineEngine

struct Events: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print state-change events (CodePipeline's EventBridge events), oldest first.")

    @OptionGroup var repository: RepositoryOptions
    @Flag(help: "Keep printing new events as they happen (from now on, unless --since says otherwise).") var follow = false
    @Option(help: "Start at this event (its id, as --json prints it) or this time (ISO 8601, or seconds since 1970).")
    var since: String?
    @Flag(help: "One EventBridge event (JSON) per line.") var json = false

    func run() throws {
        let layout = try repository.installedLayout()
        let reports = Reports(layout: layout, store: try Store(path: layout.database))
        let show = { (events: [EventRecord]) in
            for event in events { print(json ? reports.eventJSON(event) : reports.eventText(event)) }
            fflush(nil)  // every stream: stdout itself is shared mutable state to Swift 6
        }
        var start: Int64 = 0
        if let since {
            guard let number = try attempt("events", { try reports.eventNumber(before: since) }) else {
                throw CommandError.usage("events: --since \(since) is no event id and no time (write an id from `events --json`, or a time like 2026-12-02T10:00:00Z)")
            }
            start = number
        } else if follow {
            start = try attempt("events --follow") { try reports.lastEventNumber() }
        }
        guard follow else {
            var after = start
            while true {
                let batch = try attempt("events") { try reports.events(after: after) }
                guard let last = batch.last?.id else { return }
                show(batch)
                after = last
            }
        }
        try attempt("events --follow") { try Watching.follow(layout: layout, after: start, show) }
    }
}
