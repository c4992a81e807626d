import PipelineModel

/// What runs an action of one provider (SPEC §6). The next providers (sandboxed, Slurm, ssh, fleet)
/// are new conformers registered in `ActionProviders.all`; the runner knows none of them by name.
protocol ActionProvider: Sendable {
    /// The provider's name in a definition (`provider: Commands`).
    static var name: String { get }
    /// The log's first lines after the action's name: what it runs (STYLE: logs start with the command).
    func describe(_ action: Action) -> String
    /// Runs the action in its context; a thrown error fails it with the error's text.
    func run(_ context: ActionContext) async throws -> ActionOutcome
}

extension ActionProvider {
    func describe(_ action: Action) -> String { "" }
}

/// The registry: provider name → provider.
enum ActionProviders {
    static let all: [String: any ActionProvider] = {
        let providers: [any ActionProvider] = [
            GitSourceProvider(), CommandsProvider(), BuildspecProvider(), DirectoryDeploy(), InvokeProvider(), ManualApproval(),
        ]
        return Dictionary(uniqueKeysWithValues: providers.map { (type(of: $0).name, $0) })
    }()

    static func provider(named name: String) -> (any ActionProvider)? { all[name] }
}
