import ArgumentParser
import Foundation
import PipelineEngine

struct Install: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Install git-pipeline into a bare repository (idempotent; keeps and chains an existing post-receive hook).")

    @Argument(help: "The repository (default: the one you stand in).")
    var path: String?

    func run() throws {
        let gitDirectory = try findGitDirectory(path)
        let installer = Installer(gitDirectory: gitDirectory, executable: ProcessLauncher.currentExecutable)
        for line in try attempt("install into \(gitDirectory)", { try installer.install() }) { print(line) }
        print("installed in \(gitDirectory): push a commit with a .pipeline.yml to start a pipeline")
    }
}
