import ArgumentParser
import Foundation
import PipelineEngine

struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check an installation and say what is wrong and how to fix it.")

    @OptionGroup var repository: RepositoryOptions

    func run() async throws {
        let gitDirectory = try repository.gitDirectory()
        let result = await Installer(gitDirectory: gitDirectory, executable: ProcessLauncher.currentExecutable).doctor()
        for line in result.ok { print("ok: \(line)") }
        for line in result.problems { print("problem: \(line)") }
        if !result.problems.isEmpty { throw CommandError.reported }
    }
}
