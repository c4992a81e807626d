/// Where in a file something is: 1-based line and column.
public struct SourceLocation: Sendable, Codable, Hashable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One finding about a definition: an error (it will not run), a warning (it runs, differently
/// from AWS) or a note. Always says where, what, and how to fix it.
public struct Diagnostic: Error, Sendable, Codable, Hashable, CustomStringConvertible {
    /// `note`: neither, but worth knowing (lint prints it; a push does not).
    public enum Severity: String, Sendable, Codable { case error, warning, note }

    public let severity: Severity
    public let location: SourceLocation
    public let message: String
    public let fix: String?

    public init(_ severity: Severity, _ location: SourceLocation, _ message: String, fix: String? = nil) {
        self.severity = severity
        self.location = location
        self.message = message
        self.fix = fix
    }

    /// `file:line:column: error: message (fix)` on one line, as compilers print it.
    public var description: String {
        "\(location): \(severity.rawValue): \(message)" + (fix.map { " — \($0)" } ?? "")
    }
}

/// A definition that does not validate: every error found, in file order.
public struct DefinitionError: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [Diagnostic]
    /// The `name` the file declares, when it could be read despite the errors.
    public let pipelineName: String?

    public init(pipelineName: String? = nil, _ diagnostics: [Diagnostic]) {
        self.pipelineName = pipelineName
        self.diagnostics = diagnostics
    }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Suggests the closest of `candidates` to a misspelt `word`, if one is close enough to be meant.
public func closestMatch(to word: String, in candidates: [String]) -> String? {
    let lowered = word.lowercased()
    var best: (String, Int)?
    for candidate in candidates {
        let distance = editDistance(lowered, candidate.lowercased())
        if distance <= max(2, candidate.count / 3), distance < (best?.1 ?? .max) { best = (candidate, distance) }
    }
    return best?.0
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}

extension Diagnostic {
    /// By line and column, those at one place in the order they were found: the order lint
    /// prints them in and a push reports them in (its first error is lint's first).
    public static func inFileOrder(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        diagnostics.enumerated().sorted { ($0.element.location.line, $0.element.location.column, $0.offset) < ($1.element.location.line, $1.element.location.column, $1.offset) }
            .map(\.element)
    }
}
