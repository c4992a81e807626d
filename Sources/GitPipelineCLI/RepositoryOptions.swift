import ArgumentParser
import Foundation
import Git
import PipelineEngine

/// Options every repository command takes.
struct RepositoryOptions: ParsableArguments {
    @Option(name: .customLong("git-dir"), help: "The repository (default: $GIT_DIR, or the one containing the current folder).")
    var gitDir: String?

    /// The repository's git directory, absolute.
    func gitDirectory() throws -> String { try findGitDirectory(gitDir) }

    /// The installed state of the repository; fails with how to install when missing.
    func installedLayout() throws -> StateLayout {
        let layout = StateLayout(gitDirectory: try gitDirectory())
        guard layout.isInstalled else {
            // In a clone, the results are the server's notes: say how to read them here, not to install into the clone.
            if let repository = try? Repository(path: layout.gitDirectory), !repository.isBare {
                let notes = (try? PipelineSettings(repository: repository).notesName) ?? "ci"
                throw CommandError.failed("this is a clone (\(layout.gitDirectory)); git-pipeline runs on the server's bare repository. " +
                                          "Here, read its results: git fetch origin 'refs/notes/*:refs/notes/*' && git log --notes=\(notes) " +
                                          "(or once: git pipeline clone-setup, then every git fetch brings them and history, show and status work here); " +
                                          "on the server: git -C REPOSITORY.git pipeline status")
            }
            throw CommandError.failed("git-pipeline is not installed in \(layout.gitDirectory); run `git pipeline install \(layout.gitDirectory)`")
        }
        return layout
    }

    /// In a clone where git-pipeline is not installed: the results as fetched into its records
    /// notes, for `history`, `show` and `status` offline (nil: read the store as usual).
    func offlineResults(json: Bool, command: String) throws -> CloneResults? {
        let gitDirectory = try gitDirectory()
        guard !StateLayout(gitDirectory: gitDirectory).isInstalled, let repository = try? Repository(path: gitDirectory), !repository.isBare else { return nil }
        if json {
            throw CommandError.usage("\(command) --json reads the server's store; in a clone, \(command) prints what refs/notes/ci-records holds " +
                                     "(its JSON lines: git notes --ref ci-records show COMMIT), or run it on the server")
        }
        let notesRef = (try? PipelineSettings(repository: repository).notesRef) ?? "refs/notes/ci"
        return try attempt(command) { try CloneResults(repository: repository, notesRef: notesRef) }
    }

    /// Who runs this command: the OS user, refined by the hosting layer's name where trusted.
    func actor(_ layout: StateLayout) throws -> Actor { Identity.current(hostingUser: try settings(layout).hostingUser) }

    /// The repository's settings (`pipeline.*` in its git config).
    func settings(_ layout: StateLayout) throws -> PipelineSettings {
        try attempt("read the settings") { try PipelineSettings(repository: try Repository(path: layout.gitDirectory)) }
    }
}

/// The git directory of `path` (default: $GIT_DIR, or the repository containing the current folder), absolute.
func findGitDirectory(_ path: String?) throws -> String {
    let start = path ?? ProcessInfo.processInfo.environment["GIT_DIR"] ?? FileManager.default.currentDirectoryPath
    do {
        let gitDirectory = try Repository.discover(from: absolute(start)).gitDirectory
        // Before anything is written: a shared repository's files keep its group's access.
        SharedRepository.apply(gitDirectory: gitDirectory)
        return gitDirectory
    } catch {
        throw CommandError.failed("\(start) is not in a git repository; run this in a repository or pass --git-dir PATH")
    }
}

func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

/// `--wait`: blocks until the execution ends; exit 3 unless it succeeded (SPEC §8).
func waitForEnd(of execution: ExecutionRecord, layout: StateLayout) throws {
    let ended = try attempt("wait for \(execution.label)") { try Watching.waitForEnd(layout: layout, executionId: execution.id) }
    print("\(ended.label) \(ended.status)" + (ended.statusSummary.map { ": \(Sanitized.text($0))" } ?? ""))
    if ended.status != .succeeded { throw CommandError.executionDidNotSucceed }
}
