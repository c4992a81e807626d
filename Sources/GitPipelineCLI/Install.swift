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

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check an installation and say what is wrong and how to fix it.")

    @OptionGroup var repository: RepositoryOptions

    func run() throws {
        let gitDirectory = try repository.gitDirectory()
        let result = Installer(gitDirectory: gitDirectory, executable: ProcessLauncher.currentExecutable).doctor()
        for line in result.ok { print("ok: \(line)") }
        for line in result.problems { print("problem: \(line)") }
        if !result.problems.isEmpty { throw ExitCode(1) }
    }
}
