import ArgumentParser
import Foundation
import PipelineEngine

struct SecretList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the secrets' names (never their values).")
    @OptionGroup var repository: RepositoryOptions

    func run() throws {
        let layout = try repository.installedLayout()
        for name in try attempt("secret list", { try SecretStore(layout: layout).all() }).keys.sorted() { print(name) }
    }
}
