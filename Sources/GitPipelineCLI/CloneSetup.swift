import ArgumentParser
import Foundation
import Git
import PipelineEngine

struct CloneSetup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clone-setup",
        abstract: "In a clone: fetch the CI results with every git fetch and show them in git log.",
        discussion: """
            Adds the notes refs to the remote's fetch refspecs (+refs/notes/ci and its -records, \
            force: only the server's runner writes them) and notes.displayRef, so that git fetch / \
            git pull bring the results, git log shows them, and history, show and status work here \
            offline. Run it once per clone; running it again changes nothing.
            """)

    @OptionGroup var repository: RepositoryOptions
    @Option(help: "The remote that is the server's repository.") var remote = "origin"
    @Option(help: "The server's notes ref (its pipeline.notesRef).") var notesRef = "refs/notes/ci"

    func run() throws {
        let gitDirectory = try repository.gitDirectory()
        let repo = try attempt("clone-setup") { try Repository(path: gitDirectory) }
        if repo.isBare {
            throw CommandError.usage("clone-setup: \(gitDirectory) is a bare repository; clone-setup is for the clones people work in " +
                                     "(on the server, `git pipeline install` does what is needed)")
        }
        guard try repo.configString("remote.\(remote).url") != nil else {
            throw CommandError.usage("clone-setup: this clone has no remote `\(remote)`; name the server's with --remote NAME")
        }
        let ref = notesRef.hasPrefix("refs/") ? notesRef : "refs/notes/" + notesRef
        try attempt("clone-setup") {
            for name in [ref, ref + "-records"] { try repo.addConfigValue("remote.\(remote).fetch", "+\(name):\(name)") }
            try repo.addConfigValue("notes.displayRef", ref)
        }
        print("remote \(remote) now fetches \(ref) and \(ref)-records; git log shows \(ref)")
        print("run `git fetch \(remote)` to bring the results; then git log, git pipeline history / show / status work here")
    }
}
