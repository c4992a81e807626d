import ArgumentParser
import Foundation
import Git
import PipelineEngine

/// The post-receive hook's slow way: `git-pipeline-hook` runs this when no runner answered it.
/// It ingests the push journal itself (parsing new definitions), starts a runner, and says what
/// it did about push ID.
struct Hook: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Internal: record the push journal's new pushes (git-pipeline-hook runs this).",
                                                    shouldDisplay: false)

    @Argument var name: String
    @Argument var push: String = ""

    func run() throws {
        guard name == "post-receive" else { throw CommandError.usage("unknown hook \(name)") }
        Self.postReceive(push: push)
    }

    /// Ingests the journal and prints what happened to push `push`; never fails (a push is never blocked).
    static func postReceive(push: String) {
        _ = FileHandle.standardInput.readDataToEndOfFile()  // the push's lines are in the journal already
        var lines: [String] = []
        do {
            let path = absolute(ProcessInfo.processInfo.environment["GIT_DIR"] ?? FileManager.default.currentDirectoryPath)
            let layout = StateLayout(gitDirectory: try Repository(path: path).gitDirectory)
            SharedRepository.apply(gitDirectory: layout.gitDirectory)
            guard layout.isInstalled else {
                print("git-pipeline: not installed in this repository (run `git pipeline install`); nothing recorded")
                return
            }
            if let problem = layout.accessProblem {
                print("git-pipeline: this push is NOT recorded now: \(problem). It is in the push journal if the hook could append " +
                      "to it; a runner of the repository's owner records it when it starts. To let every pusher record: " +
                      "git config core.sharedRepository group && git pipeline install, or run the runner as a service; " +
                      "`git pipeline doctor` says more")
                return
            }
            let result = PushHandler(layout: layout, store: try Store(path: layout.database)).handle(entryId: push)
            lines = result.lines
            if result.needsRunner { try Runner.startInBackground(layout) }
        } catch {
            lines.append("git-pipeline: error: \(error) — the push went through; run `git pipeline doctor` on the server")
        }
        if !lines.isEmpty { print(lines.joined(separator: "\n")) }
    }
}
