import ArgumentParser
import Foundation
import Git
import PipelineEngine

/// The restricted entry point for people without a shell on the server: an `authorized_keys`
/// line of the hosting account runs it for each key,
///
///     command="git-pipeline ssh-command --user alice --root /srv/git",no-pty,no-port-forwarding ssh-ed25519 AAAA… alice
///
/// and the key may then push and fetch (`git-receive-pack`, `git-upload-pack`,
/// `git-upload-archive`) and run `ssh git@server pipeline REPO COMMAND …` with the read and
/// control commands, as `alice`, in the repositories under `--root` it may push to (all of them,
/// or those whose `pipeline.sshUsers` lists it). Nothing else runs: no shell, no other program.
struct SSHCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssh-command",
        abstract: "The forced command of a key in authorized_keys: push, fetch and pipeline commands only, as the key's user.",
        discussion: """
            Reads SSH_ORIGINAL_COMMAND (what the user asked ssh to run). Allowed: git-receive-pack, \
            git-upload-pack and git-upload-archive of a repository under --root, and `pipeline REPO \
            COMMAND ARGS…` where COMMAND is one of \(SSHCommand.allowed.joined(separator: ", ")). \
            A repository whose pipeline.sshUsers is set (names or @groups, several values or \
            comma-separated) admits only those users. Set pipeline.hostingUser to the hosting account \
            in each repository so that approvals and the audit trail name the key's user.
            """)

    static let allowed = ["status", "watch", "history", "show", "logs", "events", "archive",
                          "start", "stop", "retry", "rollback", "approve", "reject", "transition"]
    static let gitServices = ["git-receive-pack", "git-upload-pack", "git-upload-archive"]

    @Option(help: "The user this key belongs to.") var user: String
    @Option(help: "The folder holding the bare repositories.") var root: String

    func run() throws {
        guard Self.isValidUser(user) else { throw CommandError.usage("ssh-command: --user \(user) is not a user name") }
        guard let request = ProcessInfo.processInfo.environment["SSH_ORIGINAL_COMMAND"], !request.isEmpty else {
            throw CommandError.failed("hi \(user): this key pushes and fetches, and runs `pipeline REPO COMMAND …` " +
                                      "(\(Self.allowed.joined(separator: ", "))); there is no shell here")
        }
        guard let words = Self.split(request), let first = words.first else {
            throw CommandError.failed("ssh-command: cannot read the command `\(request.prefix(200))` (unbalanced quotes?)")
        }
        var environment = ProcessInfo.processInfo.environment
        environment["GIT_PIPELINE_USER"] = user
        for name in ["GL_USER", "GITOLITE_USER", "REMOTE_USER"] { environment.removeValue(forKey: name) }
        if Self.gitServices.contains(first) {
            guard words.count == 2 else { throw CommandError.failed("ssh-command: \(first) takes one repository") }
            let repository = try resolve(words[1])
            try execute("git", [String(first.dropFirst(4)), repository], environment: environment)
        }
        let tail = first == "git" && words.count > 1 && words[1] == "pipeline" ? Array(words.dropFirst(2))
            : (first == "pipeline" || first == "git-pipeline" ? Array(words.dropFirst()) : nil)
        guard let tail, tail.count >= 2 else {
            throw CommandError.failed("ssh-command: `\(request.prefix(200))` is not allowed here; this key pushes, fetches, " +
                                      "and runs `pipeline REPO COMMAND …` with COMMAND one of \(Self.allowed.joined(separator: ", "))")
        }
        let repository = try resolve(tail[0])
        let command = tail[1], arguments = Array(tail.dropFirst(2))
        guard Self.allowed.contains(command) else {
            throw CommandError.failed("ssh-command: `pipeline \(command)` is not allowed over ssh (allowed: \(Self.allowed.joined(separator: ", ")))")
        }
        // The repository is ours to choose: no argument may name another one.
        if let bad = arguments.first(where: { $0 == "--git-dir" || $0.hasPrefix("--git-dir=") }) {
            throw CommandError.usage("ssh-command: \(bad) is not allowed: the repository is the one named after `pipeline`")
        }
        // Nothing is written on the server by name: the archive comes back on standard output.
        if let bad = arguments.first(where: { $0 == "-o" || $0.hasPrefix("-o") || $0 == "--output" || $0.hasPrefix("--output=") }) {
            throw CommandError.usage("ssh-command: \(bad) is not allowed over ssh: the zip comes back on standard output (ssh … > src.zip)")
        }
        try execute(ProcessLauncher.currentExecutable, [command, "--git-dir", repository] + arguments, environment: environment)
    }

    /// The bare repository a user-given path names, under `--root` (`repo`, `repo.git`, `/repo.git`,
    /// `~/repo.git`, `team/repo`), when the user may push to it.
    func resolve(_ given: String) throws -> String {
        var relative = given
        if relative.hasPrefix("~/") { relative.removeFirst(2) }
        while relative.hasPrefix("/") { relative.removeFirst() }
        while relative.hasSuffix("/") { relative.removeLast() }
        let base = URL(fileURLWithPath: root).resolvingSymlinksInPath().path
        guard !relative.isEmpty, !relative.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else {
            throw CommandError.failed("ssh-command: no repository \(given) here")
        }
        for candidate in [relative, relative + ".git"] {
            let path = URL(fileURLWithPath: base + "/" + candidate).resolvingSymlinksInPath().path
            guard path.hasPrefix(base + "/"), let repository = try? Repository(path: path), repository.isBare else { continue }
            let listed = ((try? repository.configSnapshot().entries(matching: "^pipeline\\.sshusers$")) ?? [])
                .flatMap { $0.value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            if !listed.isEmpty && !Identity.isListed(Actor(name: user, system: user), in: listed) {
                throw CommandError.failed("ssh-command: \(user) may not use \(given) (its pipeline.sshUsers does not list \(user))")
            }
            return path
        }
        throw CommandError.failed("ssh-command: no repository \(given) here")
    }

    func execute(_ program: String, _ arguments: [String], environment: [String: String]) throws -> Never {
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        let path = program.contains("/") ? program
            : (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map { "\($0)/\(program)" }
                .first { FileManager.default.isExecutableFile(atPath: $0) } ?? program
        execve(path, argv, envp)
        throw CommandError.failed("ssh-command: cannot run \(program): \(String(cString: strerror(errno)))")
    }

    static func isValidUser(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-@".contains($0)) }
    }

    /// Words of a command line as a POSIX shell would split them, without running anything: single
    /// and double quotes and backslashes; nil when a quote is not closed.
    static func split(_ text: String) -> [String]? {
        var words: [String] = [], current = "", inWord = false
        var index = text.startIndex
        while index < text.endIndex {
            let c = text[index]
            switch c {
            case " ", "\t", "\n":
                if inWord { words.append(current); current = ""; inWord = false }
            case "'":
                inWord = true
                guard let close = text[text.index(after: index)...].firstIndex(of: "'") else { return nil }
                current += text[text.index(after: index)..<close]
                index = close
            case "\"":
                inWord = true
                var j = text.index(after: index)
                while j < text.endIndex && text[j] != "\"" {
                    if text[j] == "\\", text.index(after: j) < text.endIndex, "\"\\$`".contains(text[text.index(after: j)]) { j = text.index(after: j) }
                    current.append(text[j])
                    j = text.index(after: j)
                }
                guard j < text.endIndex else { return nil }
                index = j
            case "\\":
                inWord = true
                let next = text.index(after: index)
                if next < text.endIndex { current.append(text[next]); index = next }
            default:
                inWord = true
                current.append(c)
            }
            index = text.index(after: index)
        }
        if inWord { words.append(current) }
        return words
    }
}
