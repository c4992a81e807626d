import ArgumentParser
import Foundation
import PipelineEngine

struct Events: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print state-change events (CodePipeline's EventBridge events), oldest first.")

    @OptionGroup var repository: RepositoryOptions
    @Flag(help: "Keep printing new events as they happen.") var follow = false
    @Flag(help: "One EventBridge event (JSON) per line.") var json = false

    func run() throws {
        let layout = try repository.installedLayout()
        let reports = Reports(layout: layout, store: try Store(path: layout.database))
        let show = { (events: [EventRecord]) in
            for event in events { print(json ? reports.eventJSON(event) : reports.eventText(event)) }
            fflush(nil)  // every stream: stdout itself is shared mutable state to Swift 6
        }
        guard follow else { return show(try attempt("events") { try reports.events(after: 0) }) }
        try attempt("events --follow") { try Watching.follow(layout: layout, show) }
    }
}
