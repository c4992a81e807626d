/// gitattributes(5), read as `git archive` reads them: the `.gitattributes` files of the tree being
/// archived (the root's, then each folder's, deeper ones winning) and `$GIT_DIR/info/attributes`
/// (winning over all). Patterns follow gitignore's rules (`*` stays within a folder, `**` crosses
/// folders, a trailing `/` matches folders only, a pattern without `/` matches names at any depth
/// below its file's folder); negative patterns are not allowed; `[attr]name …` defines a macro in a
/// top-level file only; `binary` is `-diff -merge -text`. Pure: it sees only the files' text.
public enum AttributeValue: Equatable, Sendable {
    case set, unset, unspecified, value(String)
}

public struct AttributeFile: Sendable {
    struct Pattern: Sendable {
        let text: [UInt8]
        /// No `/` but a trailing one: matches a name at any depth.
        let basenameOnly: Bool
        let directoriesOnly: Bool
    }

    struct Rule: Sendable {
        let pattern: Pattern
        let assignments: [(name: String, value: AttributeValue)]
    }

    /// The folder the file is in ("" for the top level and for info/attributes).
    let base: String
    /// `base/` as bytes ("" at the top).
    let prefix: [UInt8]
    var rules: [Rule] = []
    var macros: [String: [(name: String, value: AttributeValue)]] = [:]

    /// `topLevel`: the root `.gitattributes` or info/attributes, where macros may be defined.
    public init(text: String, base: String, topLevel: Bool) {
        self.base = base
        prefix = base.isEmpty ? [] : Array(base.utf8) + [UInt8(ascii: "/")]
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" }) {
            var line = Substring(rawLine)
            if line.last == "\r" { line = line.dropLast() }
            line = line.drop { $0 == " " || $0 == "\t" }
            guard !line.isEmpty, line.first != "#" else { continue }
            guard let (pattern, rest) = Self.splitPattern(line) else { continue }
            let assignments = rest.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap(Self.assignment)
            if pattern.hasPrefix("[attr]") {
                let name = String(pattern.dropFirst(6))
                if topLevel, Self.isValidName(name) { macros[name] = assignments }
                continue
            }
            // Negative patterns are forbidden in attributes files: git warns and ignores the line.
            guard !pattern.hasPrefix("!") else { continue }
            var text = Array(pattern.utf8)
            var directoriesOnly = false
            while text.count > 1, text.last == UInt8(ascii: "/") { text.removeLast(); directoriesOnly = true }
            let basenameOnly = !text.contains(UInt8(ascii: "/"))
            if !basenameOnly, text.first == UInt8(ascii: "/") { text.removeFirst() }
            rules.append(Rule(pattern: Pattern(text: text, basenameOnly: basenameOnly, directoriesOnly: directoriesOnly),
                              assignments: assignments))
        }
    }

    /// The pattern (a C-quoted one unquoted) and the rest of the line.
    static func splitPattern(_ line: Substring) -> (String, Substring)? {
        if line.first == "\"" {
            var bytes: [UInt8] = []
            var index = line.utf8.index(after: line.utf8.startIndex)
            let utf8 = line.utf8
            while index < utf8.endIndex {
                let byte = utf8[index]
                if byte == UInt8(ascii: "\"") {
                    let rest = line[utf8.index(after: index)...]
                    return (String(decoding: bytes, as: UTF8.self), rest)
                }
                if byte == UInt8(ascii: "\\") {
                    index = utf8.index(after: index)
                    guard index < utf8.endIndex else { return nil }
                    let escaped = utf8[index]
                    switch escaped {
                    case UInt8(ascii: "n"): bytes.append(10)
                    case UInt8(ascii: "t"): bytes.append(9)
                    case UInt8(ascii: "0")...UInt8(ascii: "7"):
                        var value = 0, count = 0
                        while count < 3, index < utf8.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(utf8[index]) {
                            value = value * 8 + Int(utf8[index] - UInt8(ascii: "0"))
                            index = utf8.index(after: index)
                            count += 1
                        }
                        bytes.append(UInt8(value & 0xFF))
                        continue
                    default: bytes.append(escaped)
                    }
                } else {
                    bytes.append(byte)
                }
                index = utf8.index(after: index)
            }
            return nil
        }
        let end = line.firstIndex { $0 == " " || $0 == "\t" } ?? line.endIndex
        return (String(line[..<end]), line[end...])
    }

    static func assignment(_ token: Substring) -> (name: String, value: AttributeValue)? {
        var name = token, value = AttributeValue.set
        if token.first == "-" { name = token.dropFirst(); value = .unset }
        else if token.first == "!" { name = token.dropFirst(); value = .unspecified }
        else if let equals = token.firstIndex(of: "=") { name = token[..<equals]; value = .value(String(token[token.index(after: equals)...])) }
        guard isValidName(name) else { return nil }
        return (String(name), value)
    }

    static func isValidName<S: StringProtocol>(_ name: S) -> Bool {
        guard let first = name.first, first != "-" else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_") }
    }

    /// Whether the rule's pattern matches `path` (relative to the top, without a trailing `/`),
    /// whose last component is `name`.
    func matches(_ pattern: Pattern, path: ArraySlice<UInt8>, name: ArraySlice<UInt8>, isDirectory: Bool) -> Bool {
        if pattern.directoriesOnly && !isDirectory { return false }
        if pattern.basenameOnly { return Wildmatch.matches(pattern.text[...], name) }
        return Wildmatch.matches(pattern.text[...], path[(path.startIndex + prefix.count)...])
    }

    /// Whether `path` is below this file's folder.
    func covers(_ path: ArraySlice<UInt8>) -> Bool { prefix.isEmpty || (path.count > prefix.count && path.starts(with: prefix)) }
}

/// The attributes of paths: the `.gitattributes` of the folders from the top down to the path's
/// (a walk pushes and pops them), then info/attributes, later ones winning.
public struct AttributeStack: Sendable {
    public private(set) var folders: [AttributeFile] = []
    public let info: AttributeFile?
    var macros: [String: [(name: String, value: AttributeValue)]] = [:]
    static let builtinMacros: [String: [(name: String, value: AttributeValue)]] = ["binary": [("diff", .unset), ("merge", .unset), ("text", .unset)]]

    public init(info: AttributeFile?) {
        self.info = info
        macros = Self.builtinMacros.merging(info?.macros ?? [:]) { $1 }
    }

    /// No rule anywhere: nothing to look up.
    public var isEmpty: Bool { folders.allSatisfy(\.rules.isEmpty) && (info?.rules.isEmpty ?? true) }

    public mutating func push(_ file: AttributeFile) {
        folders.append(file)
        if file.base.isEmpty {
            macros = Self.builtinMacros.merging(file.macros) { $1 }.merging(info?.macros ?? [:]) { $1 }
        }
    }

    public mutating func pop() { folders.removeLast() }

    /// The values of `names` for `path` (relative to the top, no trailing `/`); unspecified ones are absent.
    public func attributes(of path: String, isDirectory: Bool, names: Set<String>) -> [String: AttributeValue] {
        var result: [String: AttributeValue] = [:]
        let bytes = Array(path.utf8)[...]
        let name = bytes.lastIndex(of: UInt8(ascii: "/")).map { bytes[($0 + 1)...] } ?? bytes
        func apply(_ file: AttributeFile) {
            guard file.covers(bytes) else { return }
            for rule in file.rules where file.matches(rule.pattern, path: bytes, name: name, isDirectory: isDirectory) {
                for (name, value) in rule.assignments { assign(name, value, into: &result, names: names, depth: 0) }
            }
        }
        for file in folders { apply(file) }
        if let info { apply(info) }
        return result.filter { $0.value != .unspecified }
    }

    /// An assignment, and a macro's own assignments after it (they win over what the line said
    /// before the macro, and lose to what it says after, as git orders them).
    private func assign(_ name: String, _ value: AttributeValue, into result: inout [String: AttributeValue], names: Set<String>, depth: Int) {
        if names.contains(name) { result[name] = value }
        guard depth < 16, let expansion = macros[name] else { return }
        for (inner, innerValue) in expansion { assign(inner, innerValue, into: &result, names: names, depth: depth + 1) }
    }
}

/// gitignore-style glob matching of a whole path: `*` and `?` stay within a folder, `**` between
/// slashes (or at either end) spans folders, `[…]` is a class (`!` or `^` negates, ranges,
/// `[:alpha:]`-style names), `\` quotes.
public enum Wildmatch {
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        matches(Array(pattern.utf8)[...], Array(text.utf8)[...])
    }

    static func matches(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        var p = pattern.startIndex, t = text.startIndex
        let slash = UInt8(ascii: "/")
        while p < pattern.endIndex {
            let c = pattern[p]
            switch c {
            case UInt8(ascii: "?"):
                guard t < text.endIndex, text[t] != slash else { return false }
                p += 1; t += 1
            case UInt8(ascii: "*"):
                var q = p
                while q < pattern.endIndex, pattern[q] == UInt8(ascii: "*") { q += 1 }
                let double = q - p >= 2
                let startsSegment = p == pattern.startIndex || pattern[p - 1] == slash
                let endsSegment = q == pattern.endIndex || pattern[q] == slash
                if double && startsSegment && endsSegment {
                    if q == pattern.endIndex { return true }
                    // `**/`: zero or more whole folders.
                    let rest = pattern[(q + 1)...]
                    if matches(rest, text[t...]) { return true }
                    var k = t
                    while k < text.endIndex {
                        if text[k] == slash, matches(rest, text[(k + 1)...]) { return true }
                        k += 1
                    }
                    return false
                }
                let rest = pattern[q...]
                if rest.isEmpty { return !text[t...].contains(slash) }
                var k = t
                while true {
                    if matches(rest, text[k...]) { return true }
                    guard k < text.endIndex, text[k] != slash else { return false }
                    k += 1
                }
            case UInt8(ascii: "["):
                guard t < text.endIndex, text[t] != slash else { return false }
                guard let (matched, end) = bracket(pattern, from: p, byte: text[t]) else { return false }
                guard matched else { return false }
                p = end; t += 1
            case UInt8(ascii: "\\"):
                p += 1
                guard p < pattern.endIndex, t < text.endIndex, text[t] == pattern[p] else { return false }
                p += 1; t += 1
            default:
                guard t < text.endIndex, text[t] == c else { return false }
                p += 1; t += 1
            }
        }
        return t == text.endIndex
    }

    /// Whether `byte` is in the class starting at `start` (a `[`), and the index after the class;
    /// nil for a class that never closes.
    static func bracket(_ pattern: ArraySlice<UInt8>, from start: Int, byte: UInt8) -> (Bool, Int)? {
        var i = start + 1
        var negate = false
        if i < pattern.endIndex, pattern[i] == UInt8(ascii: "!") || pattern[i] == UInt8(ascii: "^") { negate = true; i += 1 }
        var matched = false
        var first = true
        while i < pattern.endIndex {
            var c = pattern[i]
            if c == UInt8(ascii: "]") && !first { return (matched != negate, i + 1) }
            first = false
            if c == UInt8(ascii: "["), i + 1 < pattern.endIndex, pattern[i + 1] == UInt8(ascii: ":") {
                let nameStart = i + 2
                var j = nameStart
                while j + 1 < pattern.endIndex, !(pattern[j] == UInt8(ascii: ":") && pattern[j + 1] == UInt8(ascii: "]")) { j += 1 }
                if j + 1 < pattern.endIndex {
                    let name = String(decoding: pattern[nameStart..<j], as: UTF8.self)
                    if inClass(name, byte) { matched = true }
                    i = j + 2
                    continue
                }
            }
            if c == UInt8(ascii: "\\"), i + 1 < pattern.endIndex { i += 1; c = pattern[i] }
            if i + 2 < pattern.endIndex, pattern[i + 1] == UInt8(ascii: "-"), pattern[i + 2] != UInt8(ascii: "]") {
                var high = pattern[i + 2]
                var next = i + 3
                if high == UInt8(ascii: "\\"), i + 3 < pattern.endIndex { high = pattern[i + 3]; next = i + 4 }
                if c <= byte && byte <= high { matched = true }
                i = next
                continue
            }
            if c == byte { matched = true }
            i += 1
        }
        return nil
    }

    static func inClass(_ name: String, _ byte: UInt8) -> Bool {
        let c = Character(UnicodeScalar(byte))
        switch name {
        case "alnum": return byte < 128 && (c.isLetter || c.isNumber)
        case "alpha": return byte < 128 && c.isLetter
        case "digit": return (48...57).contains(byte)
        case "lower": return (97...122).contains(byte)
        case "upper": return (65...90).contains(byte)
        case "space": return [9, 10, 11, 12, 13, 32].contains(byte)
        case "blank": return byte == 9 || byte == 32
        case "punct": return (33...47).contains(byte) || (58...64).contains(byte) || (91...96).contains(byte) || (123...126).contains(byte)
        case "xdigit": return (48...57).contains(byte) || (65...70).contains(byte) || (97...102).contains(byte)
        case "cntrl": return byte < 32 || byte == 127
        case "print": return (32...126).contains(byte)
        case "graph": return (33...126).contains(byte)
        default: return false
        }
    }
}
