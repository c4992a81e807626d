import Yams

/// What the parsers of definitions, buildspecs and appspecs share: reading YAML nodes and
/// reporting what is wrong at the node's line and column.
/// The errors of a parse that failed.
struct ParseErrors: Error {
    let diagnostics: [Diagnostic]
}

protocol YAMLReading {
    var file: String { get }
    var diagnostics: [Diagnostic] { get set }
    /// Allowed keys that a misspelt key in the last mapping read probably meant; their absence is
    /// then not reported again.
    var misspelt: Set<String> { get set }
}

extension YAMLReading {
    // MARK: Diagnostics

    func location(_ node: Node?) -> SourceLocation {
        SourceLocation(file: file, line: node?.mark?.line ?? 1, column: node?.mark?.column ?? 1)
    }

    mutating func error(_ node: Node?, _ message: String, fix: String? = nil) {
        diagnostics.append(Diagnostic(.error, location(node), message, fix: fix))
    }

    mutating func warning(_ node: Node?, _ message: String, fix: String? = nil) {
        diagnostics.append(Diagnostic(.warning, location(node), message, fix: fix))
    }

    // MARK: Node helpers

    /// A mapping's entries, with unknown keys reported (and a "did you mean").
    mutating func entries(_ node: Node, _ what: String, allowed: [String], ignoredWithWarning: [String] = []) -> [String: (key: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            error(node, "\(what) must be a mapping of keys to values", fix: "write it as `key: value` lines")
            return nil
        }
        var result: [String: (key: Node, value: Node)] = [:]
        misspelt = []
        for (key, value) in mapping {
            guard let name = key.string else { error(key, "a key in \(what) is not a string"); continue }
            if ignoredWithWarning.contains(name) {
                warning(key, "`\(name)` in \(what) is an AWS setting with no meaning here; it is ignored")
            } else if !allowed.contains(name) {
                let guess = closestMatch(to: name, in: allowed)
                if let guess { misspelt.insert(guess) }
                let hint = guess.map { "did you mean `\($0)`?" } ?? "allowed keys: \(allowed.joined(separator: ", "))"
                error(key, "unknown key `\(name)` in \(what)", fix: hint)
            } else {
                result[name] = (key, value)
            }
        }
        return result
    }

    mutating func string(_ node: Node?, _ what: String) -> String? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node else {
            error(node, "\(what) must be a single value, not a list or mapping")
            return nil
        }
        return scalar.string
    }

    mutating func list(_ node: Node?, _ what: String) -> [Node] {
        guard let node else { return [] }
        if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.tag.description.hasSuffix(":null") { return [] }
        guard case .sequence(let sequence) = node else {
            error(node, "\(what) must be a list", fix: "put each item on its own line starting with `- `")
            return []
        }
        return Array(sequence)
    }

    mutating func integer(_ node: Node?, _ what: String, range: ClosedRange<Int>) -> Int? {
        guard let text = string(node, what) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            error(node, "\(what) must be a whole number from \(range.lowerBound) to \(range.upperBound), not `\(text)`")
            return nil
        }
        return value
    }

    /// What a parse ends with: the value and its warnings, or every error (an empty document is
    /// one error, `empty`, at line 1).
    func outcome<T>(_ result: T?, empty: String, fix: String) -> Result<(value: T, warnings: [Diagnostic]), ParseErrors> {
        let errors = Diagnostic.inFileOrder(diagnostics.filter { $0.severity == .error })
        guard errors.isEmpty, let result else {
            return .failure(ParseErrors(diagnostics: errors.isEmpty ? [Diagnostic(.error, location(nil), empty, fix: fix)] : errors))
        }
        return .success((result, diagnostics.filter { $0.severity == .warning }))
    }

    /// Every finding for `lint`: the diagnostics, or the `empty` error when there is nothing.
    func findings(_ result: Any?, empty: String) -> [Diagnostic] {
        result == nil && diagnostics.isEmpty ? [Diagnostic(.error, location(nil), empty)] : diagnostics
    }

    /// The document's root node; nil (with the error reported) when the text is not YAML or empty.
    mutating func compose(_ text: String) -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch let yamlError as YamlError {
            reportYAML(yamlError)
        } catch {
            self.error(nil, "cannot read YAML: \(error)")
        }
        return nil
    }

    /// A mapping's keys with their nodes, in file order, without checking them.
    func pairs(_ node: Node?) -> [(key: String, keyNode: Node, value: Node)] {
        guard case .mapping(let mapping)? = node else { return [] }
        return mapping.compactMap { key, value in key.string.map { ($0, key, value) } }
    }

    /// Warns when a plain (unquoted) command has an unclosed quote: YAML took a ` #` inside it for
    /// a comment and cut the command there (`- echo "v#{x} #{y}"`).
    mutating func warnIfCutByComment(_ node: Node) {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return }
        let text = scalar.string
        if text.filter({ $0 == "\"" }).count % 2 == 1 || text.filter({ $0 == "'" }).count % 2 == 1 {
            warning(node, "the command `\(text)` has an unclosed quote: YAML probably read a ` #` in it as the start of a comment",
                    fix: "quote the whole command: `- 'echo \"a #{b}\"'`")
        }
    }

    /// True for an empty value (`key:` with nothing after it, or `~`/`null`).
    func isNull(_ node: Node?) -> Bool {
        guard let node else { return true }
        if case .scalar(let scalar) = node {
            return scalar.tag.description.hasSuffix(":null") || (scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string))
        }
        return false
    }

    mutating func reportYAML(_ yamlError: YamlError) {
        let (problem, mark): (String, Mark?) = switch yamlError {
        case .scanner(let context, let problem, let mark, _): ((context.map { "\($0) " } ?? "") + problem, mark)
        case .parser(let context, let problem, let mark, _): ((context.map { "\($0) " } ?? "") + problem, mark)
        case .composer(let context, let problem, let mark, _): ((context.map { "\($0) " } ?? "") + problem, mark)
        default: (yamlError.description, nil)
        }
        diagnostics.append(Diagnostic(.error, SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1),
                                      "YAML syntax: \(problem)", fix: "check indentation and quoting on this line and the one before"))
    }

}
