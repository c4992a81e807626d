import ArgumentParser
import Foundation
import PipelineEngine

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
