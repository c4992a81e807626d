/// RFC 8259 JSON, checked strictly: YAML reads a trailing comma, a comment or a single-quoted
/// string in a `.json` file without complaint, and AWS (`aws codepipeline create-pipeline
/// --cli-input-json`, CloudFormation) rejects the file. The first place that is not JSON is
/// reported at its line and column, with what to change.
public enum StrictJSON {
    public struct Problem: Equatable, Sendable {
        public let offset: Int
        public let message: String
        public let fix: String
    }

    public static func check(_ text: String, file: String) -> Diagnostic? {
        let bytes = Array(text.utf8)
        guard let problem = firstProblem(bytes) else { return nil }
        return Diagnostic(.error, DefinitionText.location(of: problem.offset, in: bytes, file: file),
                          "not valid JSON: \(problem.message)", fix: problem.fix)
    }

    public static func firstProblem(_ bytes: [UInt8]) -> Problem? {
        var scanner = Scanner(bytes: bytes)
        do throws(Problem) {
            scanner.skipSpace()
            try scanner.value(depth: 0)
            scanner.skipSpace()
            if scanner.offset < bytes.count {
                throw scanner.problem("more text after the end of the JSON document", fix: "a JSON file holds one value: remove what follows its closing `}`")
            }
            return nil
        } catch {
            return error
        }
    }
}

extension StrictJSON.Problem: Error {}

private struct Scanner {
    let bytes: [UInt8]
    var offset = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    var current: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    func problem(_ message: String, fix: String, at position: Int? = nil) -> StrictJSON.Problem {
        StrictJSON.Problem(offset: min(position ?? offset, bytes.count), message: message, fix: fix)
    }

    mutating func skipSpace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { offset += 1 }
    }

    /// Whitespace, and a comment reported as what it is.
    mutating func space() throws(StrictJSON.Problem) {
        skipSpace()
        if current == UInt8(ascii: "/") || current == UInt8(ascii: "#") {
            throw problem("a comment; JSON has none", fix: "remove the comment (AWS rejects the file), or write the definition in YAML, which has comments")
        }
    }

    mutating func value(depth: Int) throws(StrictJSON.Problem) {
        try space()
        guard let byte = current else {
            throw problem("the document ends where a value should be", fix: "complete the value, or close the open `{` / `[`")
        }
        guard depth < 512 else { throw problem("nested more than 512 levels deep", fix: "flatten the document") }
        switch byte {
        case UInt8(ascii: "{"): try object(depth: depth)
        case UInt8(ascii: "["): try array(depth: depth)
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "'"):
            throw problem("a string in single quotes", fix: "write strings in double quotes: \"…\"")
        default:
            throw problem("unexpected `\(Self.show(byte))` where a value should be", fix: "write a string in double quotes, a number, true, false, null, an object or an array")
        }
    }

    mutating func object(depth: Int) throws(StrictJSON.Problem) {
        offset += 1
        try space()
        if current == UInt8(ascii: "}") { offset += 1; return }
        while true {
            try space()
            switch current {
            case UInt8(ascii: "\""): try string()
            case UInt8(ascii: "'"): throw problem("a key in single quotes", fix: "write keys in double quotes: \"key\": …")
            case UInt8(ascii: "}"):
                throw problem("a trailing comma before `}`", fix: "remove the last comma (AWS rejects it)", at: lastComma)
            case nil: throw problem("the document ends inside an object", fix: "close it with `}`")
            default: throw problem("an object key must be a string in double quotes", fix: "write it as \"key\": value")
            }
            try space()
            guard current == UInt8(ascii: ":") else {
                throw problem(current == nil ? "the document ends after a key" : "expected `:` after the key", fix: "write \"key\": value")
            }
            offset += 1
            try value(depth: depth + 1)
            try space()
            switch current {
            case UInt8(ascii: ","): lastComma = offset; offset += 1
            case UInt8(ascii: "}"): offset += 1; return
            case nil: throw problem("the document ends inside an object", fix: "close it with `}`")
            default: throw problem("expected `,` or `}` after a member of an object", fix: "separate the members with commas")
            }
        }
    }

    var lastComma = 0

    mutating func array(depth: Int) throws(StrictJSON.Problem) {
        offset += 1
        try space()
        if current == UInt8(ascii: "]") { offset += 1; return }
        while true {
            try space()
            if current == UInt8(ascii: "]") {
                throw problem("a trailing comma before `]`", fix: "remove the last comma (AWS rejects it)", at: lastComma)
            }
            try value(depth: depth + 1)
            try space()
            switch current {
            case UInt8(ascii: ","): lastComma = offset; offset += 1
            case UInt8(ascii: "]"): offset += 1; return
            case nil: throw problem("the document ends inside an array", fix: "close it with `]`")
            default: throw problem("expected `,` or `]` after an item of an array", fix: "separate the items with commas")
            }
        }
    }

    mutating func string() throws(StrictJSON.Problem) {
        let start = offset
        offset += 1
        while let byte = current {
            switch byte {
            case UInt8(ascii: "\""): offset += 1; return
            case UInt8(ascii: "\\"):
                offset += 1
                guard let escaped = current else { break }
                if escaped == UInt8(ascii: "u") {
                    let digits = bytes[min(offset + 1, bytes.count)..<min(offset + 5, bytes.count)]
                    guard digits.count == 4, digits.allSatisfy(Self.isHex) else {
                        throw problem("`\\u` must be followed by four hexadecimal digits", fix: "write the character as \\uXXXX")
                    }
                    offset += 5
                } else if Array("\"\\/bfnrt".utf8).contains(escaped) {
                    offset += 1
                } else {
                    throw problem("`\\\(Self.show(escaped))` is not a JSON escape", fix: "use \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX", at: offset - 1)
                }
            case 0..<0x20:
                throw problem(byte == 0x0A ? "a string runs past the end of its line" : "a control character inside a string",
                              fix: byte == 0x0A ? "close the string with `\"`, or write a line break as \\n" : "write it as an escape (\\t, \\uXXXX)")
            default: offset += 1
            }
        }
        throw problem("a string that is never closed", fix: "close it with `\"`", at: start)
    }

    mutating func number() throws(StrictJSON.Problem) {
        if current == UInt8(ascii: "-") { offset += 1 }
        guard let first = current, Self.isDigit(first) else { throw problem("a number must have a digit after `-`", fix: "write a number like -1 or 0.5") }
        offset += 1
        if first == UInt8(ascii: "0"), let next = current, Self.isDigit(next) {
            throw problem("a number with a leading zero", fix: "remove the leading zeros, or quote the value as a string")
        }
        digits()
        if current == UInt8(ascii: ".") {
            offset += 1
            guard let next = current, Self.isDigit(next) else { throw problem("a digit must follow the decimal point", fix: "write 1.0, not 1.") }
            digits()
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            offset += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { offset += 1 }
            guard let next = current, Self.isDigit(next) else { throw problem("a digit must follow the exponent", fix: "write 1e5") }
            digits()
        }
    }

    mutating func digits() {
        while let byte = current, Self.isDigit(byte) { offset += 1 }
    }

    mutating func literal(_ word: String) throws(StrictJSON.Problem) {
        let expected = Array(word.utf8)
        guard bytes[offset..<min(offset + expected.count, bytes.count)].elementsEqual(expected) else {
            throw problem("unexpected `\(Self.show(bytes[offset]))` where a value should be", fix: "write strings in double quotes; the bare words are true, false and null")
        }
        offset += expected.count
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    static func isHex(_ byte: UInt8) -> Bool { isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte | 0x20) }
    static func show(_ byte: UInt8) -> String { byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "0x" + String(byte, radix: 16) }
}
