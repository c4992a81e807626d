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
        for (name, value) in execution.pipelineVariables(of: declaration) { values["variables.\(name)"] = value }
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
    /// `shell`: the text is a shell command line, and each value goes in as one word of data —
    /// quoted for where it stands (bare, inside '…' or inside "…"), whatever bytes it holds, so a
    /// commit message or a branch name is never run as code (SPEC §9).
    func resolve(_ text: String, shell: Bool = false, json: Bool = false) throws -> String {
        guard text.contains("#{") else { return text }
        var out = ""
        var unresolved: [String] = []
        var rest = text[...]
        var quoting = ShellQuoting()
        while let open = rest.range(of: "#{") {
            let before = rest[..<open.lowerBound]
            quoting.read(before)
            out += before
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                out += rest[open.lowerBound...]
                rest = rest[rest.endIndex...]
                break
            }
            let name = String(rest[open.upperBound..<close])
            if name.contains("."), let value = values[name] {
                out += shell ? quoting.quote(value) : json ? Self.jsonStringContent(value) : value
            } else if name.contains(".") {
                unresolved.append(name)
            } else {
                out += rest[open.lowerBound...close]  // not a reference (no namespace): left as written
                quoting.read(rest[open.lowerBound...close])
            }
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        if !unresolved.isEmpty { throw Unresolved(references: unresolved) }
        return out
    }

    /// True when some text `resolve(_:)` reads (commands, configuration values) holds `#{`: else
    /// resolving gives the action back unchanged.
    static func refersToVariables(_ action: Action) -> Bool {
        action.commands.contains { $0.contains("#{") } || action.configuration.values.contains { $0.contains("#{") }
    }

    /// The action with its commands and configuration resolved.
    func resolve(_ action: Action) throws -> Action {
        var resolved = action
        var missing: [String] = []
        func attempt(_ text: String, shell: Bool, json: Bool = false) -> String {
            do { return try resolve(text, shell: shell, json: json) } catch let error as Unresolved {
                missing += error.references
                return text
            } catch { return text }
        }
        resolved.commands = action.commands.map { attempt($0, shell: true) }
        // The configuration's command lines (Invoke's Command, an approval's NotificationCommand)
        // are shell too; everything else is plain text.
        for (key, value) in action.configuration {
            resolved.configuration[key] = attempt(value, shell: Self.shellKeys.contains(key), json: Self.jsonKeys.contains(key))
        }
        if !missing.isEmpty { throw Unresolved(references: missing) }
        return resolved
    }
}

extension VariableResolver {
    static let shellKeys: Set<String> = ["Command", "NotificationCommand"]
    /// Configuration fields that hold JSON: a value goes in as the inside of a JSON string (the
    /// references stand inside "…"), so a quote in it cannot end the string and add a variable.
    static let jsonKeys: Set<String> = ["EnvironmentVariables"]

    static func jsonStringContent(_ value: String) -> String {
        String(jsonText(value, pretty: false).dropFirst().dropLast())
    }
}

/// Where a shell command line stands after the text read so far: bare, inside '…', or inside "…".
struct ShellQuoting {
    enum State { case bare, single, double }
    private(set) var state = State.bare
    private var escaped = false

    mutating func read(_ text: Substring) {
        for character in text {
            if escaped { escaped = false; continue }
            switch (state, character) {
            case (.bare, "\\"), (.double, "\\"): escaped = true
            case (.bare, "'"): state = .single
            case (.single, "'"): state = .bare
            case (.bare, "\""): state = .double
            case (.double, "\""): state = .bare
            default: break
            }
        }
    }

    /// `value` as one word of data here.
    func quote(_ value: String) -> String {
        switch state {
        case .bare: return shellQuote(value)
        // Close the quote, put the word in, reopen it.
        case .single: return "'" + shellQuote(value) + "'"
        case .double:
            var out = ""
            for character in value {
                if "\\\"$`".contains(character) { out.append("\\") }
                out.append(character)
            }
            return out
        }
    }
}
