import ArgumentParser
import Foundation
import PipelineEngine

/// `git pipeline secret set|list|rm`: the values buildspecs read through parameter-store and
/// secrets-manager.
struct Secret: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keep secrets for buildspecs' parameter-store and secrets-manager (0600, masked as *** in logs).",
        subcommands: [SecretSet.self, SecretList.self, SecretRemove.self])
}

struct SecretSet: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "Set a secret; the value is read from stdin unless --value is given.")
    @OptionGroup var repository: RepositoryOptions
    @Argument(help: "The parameter name or secret id (e.g. /app/db-password or prod/db).") var name: String
    @Option(help: "The value (visible in your shell's history and in ps; stdin is safer).") var value: String?

    func run() throws {
        let layout = try repository.installedLayout()
        var text = value
        if text == nil {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            text = String(decoding: data, as: UTF8.self)
            if text?.hasSuffix("\n") == true { text?.removeLast() }
        }
        try attempt("secret set") { try SecretStore(layout: layout).set(name, value: text ?? "") }
        print("secret \(name) set")
    }
}

struct SecretList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the secrets' names (never their values).")
    @OptionGroup var repository: RepositoryOptions

    func run() throws {
        let layout = try repository.installedLayout()
        for name in try attempt("secret list", { try SecretStore(layout: layout).all() }).keys.sorted() { print(name) }
    }
}

struct SecretRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a secret.")
    @OptionGroup var repository: RepositoryOptions
    @Argument var name: String

    func run() throws {
        let layout = try repository.installedLayout()
        guard try attempt("secret rm", { try SecretStore(layout: layout).remove(name) }) else {
            throw Failure(message: "secret rm: no secret named \(name)")
        }
        print("secret \(name) removed")
    }
}
