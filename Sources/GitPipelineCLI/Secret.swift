import ArgumentParser

/// `git pipeline secret set|list|rm`: the values buildspecs read through parameter-store and
/// secrets-manager.
struct Secret: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keep secrets for buildspecs' parameter-store and secrets-manager (0600, masked as *** in logs).",
        subcommands: [SecretSet.self, SecretList.self, SecretRemove.self])
}
