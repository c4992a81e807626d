import Foundation

/// What `git archive` does to a regular file's bytes on the way out, from its attributes and the
/// repository's `core.autocrlf` / `core.eol`: end-of-line conversion (`text`, `eol`, the older
/// `crlf`), then `export-subst` (`$Format:…$` expanded for the archived commit). Pure.
public struct ExportSettings: Sendable, Equatable {
    public enum AutoCRLF: Sendable, Equatable { case off, on, input }
    public var autocrlf: AutoCRLF = .off
    /// core.eol=crlf (native and lf are LF here).
    public var eolIsCRLF = false
    /// core.abbrev: nil for auto.
    public var abbrev: Int? = nil

    public init(autocrlf: AutoCRLF = .off, eolIsCRLF: Bool = false, abbrev: Int? = nil) {
        self.autocrlf = autocrlf
        self.eolIsCRLF = eolIsCRLF
        self.abbrev = abbrev
    }

    /// The attributes an archive looks up.
    public static let attributeNames: Set<String> = ["export-ignore", "export-subst", "text", "eol", "crlf"]

    /// With autocrlf on, every file without attributes may be converted: the attributes are not
    /// the only reason to look.
    public var convertsWithoutAttributes: Bool { autocrlf == .on }

    var textEOLIsCRLF: Bool {
        switch autocrlf {
        case .on: true
        case .input: false
        case .off: eolIsCRLF
        }
    }

    private enum Action { case binary, text, textInput, textCRLF, auto, autoInput, autoCRLF, undefined }

    private static func action(_ value: AttributeValue?) -> Action {
        switch value {
        case .set: .text
        case .unset: .binary
        case .value("input"): .textInput
        case .value("auto"): .auto
        default: .undefined
        }
    }

    /// The end-of-line conversion of a file with `attributes`, as git decides it on checkout.
    public func eolConversion(_ attributes: [String: AttributeValue]) -> EOLConversion {
        var action = Self.action(attributes["text"])
        if action == .undefined { action = Self.action(attributes["crlf"]) }
        if action != .binary {
            let eol = attributes["eol"]
            switch (action, eol) {
            case (.auto, .value("lf")): action = .autoInput
            case (.auto, .value("crlf")): action = .autoCRLF
            case (_, .value("lf")): action = .textInput
            case (_, .value("crlf")): action = .textCRLF
            default: break
            }
        }
        if action == .text { action = textEOLIsCRLF ? .textCRLF : .textInput }
        if action == .undefined {
            switch autocrlf {
            case .off: action = .binary
            case .on: action = .autoCRLF
            case .input: action = .autoInput
            }
        }
        switch action {
        case .textCRLF: return .toCRLF
        case .autoCRLF: return .toCRLFIfText
        case .auto: return textEOLIsCRLF ? .toCRLFIfText : .none
        default: return .none
        }
    }
}

public enum EOLConversion: Sendable, Equatable {
    case none
    /// Every LF not after a CR becomes CRLF.
    case toCRLF
    /// The same, for a file that looks like text and has no CR yet (text=auto, core.autocrlf).
    case toCRLFIfText
}

/// How one file leaves the archive.
public struct ExportRule: Sendable, Equatable {
    public var eol: EOLConversion = .none
    public var substitute = false
    public static let identity = ExportRule()
    public var isIdentity: Bool { self == .identity }

    public init(eol: EOLConversion = .none, substitute: Bool = false) {
        self.eol = eol
        self.substitute = substitute
    }

    /// The bytes as the archive holds them; nil when they do not change.
    public func apply(_ bytes: UnsafeRawBufferPointer, format: CommitFormat?) -> [UInt8]? {
        var converted = Self.convertLineEnds(bytes, eol)
        if substitute, let format {
            let input = converted ?? Array(bytes)
            if let substituted = format.substitute(input) { converted = substituted }
        }
        return converted
    }

    static func convertLineEnds(_ bytes: UnsafeRawBufferPointer, _ eol: EOLConversion) -> [UInt8]? {
        guard eol != .none, !bytes.isEmpty else { return nil }
        var loneLF = 0, crlf = 0, loneCR = 0, nul = 0, printable = 0, nonPrintable = 0
        var i = 0
        let count = bytes.count
        while i < count {
            let c = bytes[i]
            if c == 13 {
                if i + 1 < count && bytes[i + 1] == 10 { crlf += 1; i += 2 } else { loneCR += 1; i += 1 }
                continue
            }
            i += 1
            switch c {
            case 10: loneLF += 1
            case 127: nonPrintable += 1
            case 8, 9, 27, 12: printable += 1
            case 0: nul += 1; nonPrintable += 1
            case 1..<32: nonPrintable += 1
            default: printable += 1
            }
        }
        // A DOS end-of-file mark at the end is not held against the file.
        if bytes[count - 1] == 0x1A { nonPrintable -= 1 }
        guard loneLF > 0 else { return nil }
        if eol == .toCRLFIfText {
            if loneCR > 0 || crlf > 0 { return nil }
            if loneCR > 0 || nul > 0 || (printable >> 7) < nonPrintable { return nil }
        }
        var out: [UInt8] = []
        out.reserveCapacity(count + loneLF)
        var previous: UInt8 = 0
        for c in bytes {
            if c == 10 && previous != 13 { out.append(13) }
            out.append(c)
            previous = c
        }
        return out
    }
}

/// `$Format:…$` in an `export-subst` file, expanded as `git log --pretty=format:` would for the
/// archived commit: %H %h %T %t %P %p, %an %ae %al %ad %aD %ai %aI %as %at (and the same with
/// c for the committer; %aN/%aE as %an/%ae), %s %b %B, %n %% %xNN. Other placeholders (%d,
/// %(describe), relative dates, colours) are left as written.
public struct CommitFormat: Sendable {
    public let commit: Commit
    /// The abbreviated names of the commit, its tree and its parents.
    public let abbreviated: [ObjectID: String]

    public init(commit: Commit, abbreviated: [ObjectID: String]) {
        self.commit = commit
        self.abbreviated = abbreviated
    }

    func short(_ id: ObjectID) -> String { abbreviated[id] ?? String(id.hex.prefix(7)) }

    /// The text with every `$Format:…$` expanded; nil when there is none.
    public func substitute(_ bytes: [UInt8]) -> [UInt8]? {
        let marker = Array("$Format:".utf8)
        var out: [UInt8] = []
        var index = 0
        var found = false
        while let start = Self.find(marker, in: bytes, from: index), let end = bytes[(start + marker.count)...].firstIndex(of: UInt8(ascii: "$")) {
            found = true
            out += bytes[index..<start]
            out += expand(Array(bytes[(start + marker.count)..<end]))
            index = end + 1
        }
        guard found else { return nil }
        out += bytes[index...]
        return out
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var i = from
        while i + needle.count <= haystack.count {
            if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    func expand(_ format: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < format.count {
            guard format[i] == UInt8(ascii: "%"), i + 1 < format.count else { out.append(format[i]); i += 1; continue }
            let c = Character(UnicodeScalar(format[i + 1]))
            var consumed = 2
            var text: String?
            switch c {
            case "%": text = "%"
            case "n": text = "\n"
            case "x":
                if i + 3 < format.count, let value = UInt8(String(decoding: format[(i + 2)...(i + 3)], as: UTF8.self), radix: 16) {
                    out.append(value)
                    i += 4
                    continue
                }
            case "H": text = commit.id.hex
            case "h": text = short(commit.id)
            case "T": text = commit.tree.hex
            case "t": text = short(commit.tree)
            case "P": text = commit.parents.map(\.hex).joined(separator: " ")
            case "p": text = commit.parents.map(short).joined(separator: " ")
            case "s": text = subject
            case "b": text = body
            case "B": text = commit.message
            case "a", "c":
                if i + 2 < format.count {
                    text = person(c == "a" ? commit.author : commit.committer, Character(UnicodeScalar(format[i + 2])))
                    if text != nil { consumed = 3 }
                }
            default: break
            }
            if let text {
                out += Array(text.utf8)
            } else {
                out += format[i..<(i + 2)]
            }
            i += consumed
        }
        return out
    }

    func person(_ who: Signature, _ what: Character) -> String? {
        switch what {
        case "n", "N": who.name
        case "e", "E": who.email
        case "l", "L": String(who.email.prefix { $0 != "@" })
        case "t": String(who.time)
        case "d": Self.date(who, .standard)
        case "D": Self.date(who, .rfc2822)
        case "i": Self.date(who, .iso)
        case "I": Self.date(who, .strictISO)
        case "s": Self.date(who, .short)
        default: nil
        }
    }

    /// The first paragraph, its lines joined with spaces.
    var subject: String {
        paragraphs.subject.map { line in String(line[..<(line.lastIndex { !$0.isWhitespace }.map(line.index(after:)) ?? line.startIndex)]) }.joined(separator: " ")
    }

    var body: String { paragraphs.body }

    private var paragraphs: (subject: [Substring], body: String) {
        let lines = commit.message.split(separator: "\n", omittingEmptySubsequences: false)
        var index = lines.startIndex
        while index < lines.endIndex, lines[index].allSatisfy(\.isWhitespace) { index += 1 }
        var subject: [Substring] = []
        while index < lines.endIndex, !lines[index].allSatisfy(\.isWhitespace) { subject.append(lines[index]); index += 1 }
        while index < lines.endIndex, lines[index].allSatisfy(\.isWhitespace) { index += 1 }
        return (subject, lines[index...].joined(separator: "\n"))
    }

    enum DateStyle { case standard, rfc2822, iso, strictISO, short }

    static func date(_ who: Signature, _ style: DateStyle) -> String {
        var seconds = time_t(who.time + Int64(who.offsetMinutes) * 60)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"], months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let offset = abs(who.offsetMinutes), sign = who.offsetMinutes < 0 ? "-" : "+"
        let zone = sign + String(format: "%02d%02d", offset / 60, offset % 60)
        let year = Int(parts.tm_year) + 1900, month = Int(parts.tm_mon), day = Int(parts.tm_mday)
        let clock = String(format: "%02d:%02d:%02d", parts.tm_hour, parts.tm_min, parts.tm_sec)
        switch style {
        case .standard: return "\(days[Int(parts.tm_wday)]) \(months[month]) \(day) \(clock) \(year) \(zone)"
        case .rfc2822: return "\(days[Int(parts.tm_wday)]), \(day) \(months[month]) \(year) \(clock) \(zone)"
        case .iso: return String(format: "%04d-%02d-%02d ", year, month + 1, day) + clock + " " + zone
        case .strictISO:
            let suffix = sign + String(format: "%02d:%02d", offset / 60, offset % 60)
            return String(format: "%04d-%02d-%02dT", year, month + 1, day) + clock + suffix
        case .short: return String(format: "%04d-%02d-%02d", year, month + 1, day)
        }
    }
}
