/// What `git pipeline lint` checks: a file's kind, detected or given.
public enum LintKind: String, Sendable, CaseIterable {
    case pipeline, buildspec, appspec

    /// The kind from the file's name, else from its top-level keys.
    public static func detect(path: String, text: String) -> LintKind {
        let name = path.split(separator: "/").last.map(String.init)?.lowercased() ?? path.lowercased()
        if name.contains("buildspec") { return .buildspec }
        if name.contains("appspec") { return .appspec }
        let keys = Set(text.split(whereSeparator: \.isNewline).compactMap { line -> String? in
            guard let first = line.first, first.isLetter else { return nil }
            return line.split(separator: ":").first.map(String.init)
        })
        if keys.contains("phases") || keys.contains("batch") { return .buildspec }
        if keys.contains("hooks") || keys.contains("os") { return .appspec }
        if keys.contains("environment_variables") || (keys.contains("version") && keys.contains("artifacts") && !keys.contains("stages")) {
            return .buildspec
        }
        return .pipeline
    }

    /// Every finding in `text`, errors and warnings, in file order.
    public func check(_ text: String, file: String, defaultName: String) -> [Diagnostic] {
        let findings: [Diagnostic] = switch self {
        case .pipeline: DefinitionParser.check(text, file: file, defaultName: defaultName)
        case .buildspec: BuildspecParser.check(text, file: file)
        case .appspec: AppspecParser.check(text, file: file)
        }
        return Diagnostic.inFileOrder(findings)
    }
}
