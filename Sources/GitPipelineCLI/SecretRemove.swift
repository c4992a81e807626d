import ArgumentParser
import Foundation
import PipelineEngine

struct SecretRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a secret.")
    @OptionGroup var repository: RepositoryOptions
    @Argument var name: String

    func run() throws {
        let layout = try repository.installedLayout()
        guard try attempt("secret rm", { try SecretStore(layout: layout).remove(name) }) else {
            throw CommandError.failed("secret rm: no secret named \(name)")
        }
        print("secret \(name) removed")
    }
}
