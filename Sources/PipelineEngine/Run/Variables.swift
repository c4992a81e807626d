import Foundation
import GRDB
import PipelineModel

/// CodePipeline's variable references, `#{namespace.Name}`, resolved just before an action starts:
/// `codepipeline.PipelineExecutionId`, `variables.Name` (pipeline variables, overridden at start),
/// and the output variables of earlier actions by their namespace (the Source action's
/// SourceVariables: CommitId, CommitMessage, AuthorDate, CommitterDate, BranchName, RepositoryName).
struct VariableResolver {
    let values: [String: String]

    /// Everything resolvable for `execution` at this moment.
    static func load(store: Store, execution: ExecutionRecord, declaration: PipelineDeclaration) throws -> VariableResolver {
        // A ROLLBACK execution sees its target's variables, then its own.
        let actions = try (execution.rollbackTarget.map { try store.actions(of: $0) } ?? []) + store.actions(of: execution.id)
        return VariableResolver(execution: execution, declaration: declaration, actions: actions)
    }

    /// The values from the execution, its declaration and the actions that ran so far (in order:
    /// a later action's output replaces an earlier one's).
    init(execution: ExecutionRecord, declaration: PipelineDeclaration, actions: [ActionRecord]) {
        var values = ["codepipeline.PipelineExecutionId": execution.id]
        let overrides = execution.variables.flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) } ?? [:]
        for variable in declaration.variables {
            if let value = overrides[variable.name] ?? variable.defaultValue { values["variables.\(variable.name)"] = value }
        }
        var namespaces: [String: String] = [:]  // "stage/action" → namespace
        for stage in declaration.stages {
            for action in stage.actions { if let ns = action.namespace { namespaces["\(stage.name)/\(action.name)"] = ns } }
        }
        for action in actions where action.status == .succeeded {
            guard let ns = namespaces["\(action.stageName)/\(action.actionName)"], let json = action.outputVariables,
                  let outputs = try? JSONDecoder().decode([String: String].self, from: Data(json.utf8)) else { continue }
            for (name, value) in outputs { values["\(ns).\(name)"] = value }
        }
        self.values = values
    }

    init(values: [String: String]) { self.values = values }

    struct Unresolved: Error, CustomStringConvertible {
        let references: [String]
        var description: String {
            "unknown variable reference\(references.count == 1 ? "" : "s") " + references.map { "#{\($0)}" }.joined(separator: ", ") +
                " — declare it under `variables`, or name an earlier action's `namespace` and one of its output variables"
        }
    }

    /// `text` with every `#{ns.Name}` replaced; throws naming every reference it cannot resolve.
    func resolve(_ text: String) throws -> String {
        guard text.contains("#{") else { return text }
        var out = ""
        var unresolved: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "#{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                out += rest[open.lowerBound...]
                rest = rest[rest.endIndex...]
                break
            }
            let name = String(rest[open.upperBound..<close])
            if name.contains("."), let value = values[name] {
                out += value
            } else if name.contains(".") {
                unresolved.append(name)
            } else {
                out += rest[open.lowerBound...close]  // not a reference (no namespace): left as written
            }
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        if !unresolved.isEmpty { throw Unresolved(references: unresolved) }
        return out
    }

    /// The action with its commands and configuration resolved.
    func resolve(_ action: Action) throws -> Action {
        var resolved = action
        var missing: [String] = []
        func attempt(_ text: String) -> String {
            do { return try resolve(text) } catch let error as Unresolved {
                missing += error.references
                return text
            } catch { return text }
        }
        resolved.commands = action.commands.map(attempt)
        resolved.configuration = action.configuration.mapValues(attempt)
        if !missing.isEmpty { throw Unresolved(references: missing) }
        return resolved
    }
}
