import ArgumentParser
import Foundation
import PipelineEngine

struct Uninstall: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove git-pipeline's hook and settings; keeps the history unless --purge.")

    @Argument(help: "The repository (default: the one you stand in).")
    var path: String?

    @Flag(help: "Also delete the state folder (executions, logs, artifacts).")
    var purge = false

    func run() throws {
        let gitDirectory = try findGitDirectory(path)
        let installer = Installer(gitDirectory: gitDirectory, executable: ProcessLauncher.currentExecutable)
        for line in try attempt("uninstall from \(gitDirectory)", { try installer.uninstall(purge: purge) }) { print(line) }
    }
}
