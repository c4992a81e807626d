import ArgumentParser
import Foundation
import PipelineEngine
import PipelineModel

extension LintKind: ExpressibleByArgument {}

struct Lint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check pipeline definitions (YAML, CodePipeline JSON, CloudFormation), buildspecs and appspecs.",
        discussion: "Prints file:line:column errors (it will not run), warnings (it runs, differently from AWS) and notes (how it runs). Exit 1 when any file has an error.")

    @Option(help: "The files' kind (default: from the name, else from the content): \(LintKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var kind: LintKind?
    @Flag(help: "Print errors only.") var quiet = false
    @Argument(help: "Files to check (default: .pipeline.yml, .pipelines/*, buildspec.yml, appspec.yml here).") var files: [String] = []

    func run() throws {
        let paths = files.isEmpty ? Linter.defaultFiles(in: FileManager.default.currentDirectoryPath) : files
        guard !paths.isEmpty else {
            throw CommandError.usage("no .pipeline.yml, .pipelines/*, buildspec.yml or appspec.yml here; name the files to check")
        }
        var failed = 0
        for path in paths {
            let report = try attempt("lint") { try Linter.lint(file: path, kind: kind) }
            for diagnostic in report.diagnostics where !quiet || diagnostic.severity == .error { print(diagnostic) }
            let errors = report.diagnostics.filter { $0.severity == .error }.count
            let warnings = report.diagnostics.filter { $0.severity == .warning }.count
            let notes = report.diagnostics.filter { $0.severity == .note }.count
            print("\(path): \(report.kind.rawValue), \(errors == 0 ? "ok" : "\(errors) error\(errors == 1 ? "" : "s")")" +
                  (warnings > 0 ? ", \(warnings) warning\(warnings == 1 ? "" : "s")" : "") + (notes > 0 ? ", \(notes) note\(notes == 1 ? "" : "s")" : ""))
            if report.hasErrors { failed += 1 }
        }
        if failed > 0 { throw CommandError.reported }
    }
}
