import ArgumentParser
import Foundation
import PipelineEngine

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw the status diagram and redraw it as executions move (Ctrl-C ends it).",
        discussion: """
            On a terminal the screen is redrawn in place. Otherwise (a pipe, a file, CI logs) each \
            new diagram is printed after the last one, under a `--- TIME` line, only when it changed.
            """)

    @OptionGroup var repository: RepositoryOptions
    @Argument(help: "Only this pipeline.") var pipeline: String?

    func run() throws {
        let layout = try repository.installedLayout()
        let store = try Store(path: layout.database)
        let reports = Reports(layout: layout, store: store)
        let terminal = isatty(STDOUT_FILENO) == 1
        var last = ""
        try attempt("watch") {
            try Watching.everyChange(layout: layout) {
                let names = try pipeline.map { [$0] } ?? store.pipelineNames()
                let drawing = names.isEmpty ? "no pipelines have run yet: push a commit with a .pipeline.yml\n"
                    : try names.map { try reports.statusText(pipeline: $0) }.joined(separator: "\n")
                guard drawing != last else { return }
                last = drawing
                let stamp = ISO8601DateFormatter().string(from: Date())
                // Home, clear to the end: the new drawing replaces the old one without a flicker of blank.
                let text = terminal ? "\u{1B}[H\u{1B}[2J" + drawing + "\n(\(stamp); Ctrl-C ends)\n" : "--- \(stamp)\n" + drawing
                FileHandle.standardOutput.write(Data(text.utf8))
            }
        }
    }
}
