import ArgumentParser
import Foundation
import PipelineEngine

struct Archive: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the SourceArtifact of a revision: the same bytes the Source action stores (its sha256 is in the note).")

    @OptionGroup var repository: RepositoryOptions
    @Argument(help: "The revision (default: HEAD).") var revision = "HEAD"
    @Option(name: .shortAndLong, help: "The zip file to write (default: standard output).") var output: String?

    func run() throws {
        let archiver = SourceArchiver(gitDirectory: try repository.gitDirectory())
        let digest = try attempt("archive \(revision)") {
            try archiver.archive(revision: revision, output: output.map(absolute)) { FileHandle.standardError.write(Data("git-pipeline: \($0)\n".utf8)) }
        }
        FileHandle.standardError.write(Data("sha256:\(digest)\(output.map { "  " + $0 } ?? "")\n".utf8))
    }
}
