/// CodePipeline's glob rules for trigger filters and artifact files: `*` within one path segment,
/// `**` across segments, `?` one character, `[...]` a class (`[!...]` negated), `{a,b}` alternatives.
public struct Glob: Sendable {
    private let pattern: [Character]

    public init(_ pattern: String) { self.pattern = Array(pattern) }

    public func matches(_ text: String) -> Bool {
        for expanded in expandBraces(pattern) where match(expanded[...], Array(text)[...]) { return true }
        return false
    }

    private func expandBraces(_ p: [Character]) -> [[Character]] {
        guard let open = p.firstIndex(of: "{") else { return [p] }
        var depth = 0
        var close: Int?
        var commas: [Int] = []
        for i in open..<p.count {
            if p[i] == "{" { depth += 1 }
            if p[i] == "}" { depth -= 1; if depth == 0 { close = i; break } }
            if p[i] == "," && depth == 1 { commas.append(i) }
        }
        guard let close else { return [p] }
        var bounds = [open] + commas + [close]
        var results: [[Character]] = []
        let head = Array(p[..<open]), tail = Array(p[(close + 1)...])
        for i in 0..<(bounds.count - 1) {
            let part = Array(p[(bounds[i] + 1)..<bounds[i + 1]])
            results += expandBraces(head + part + tail)
        }
        bounds.removeAll()
        return results
    }

    private func match(_ p: ArraySlice<Character>, _ t: ArraySlice<Character>) -> Bool {
        var p = p, t = t
        while let c = p.first {
            switch c {
            case "*":
                if p.dropFirst().first == "*" {
                    // `**`: any number of characters including '/'; `**/` may also match nothing.
                    var rest = p.dropFirst(2)
                    if rest.first == "/" {
                        if match(rest.dropFirst(), t) { return true }
                        rest = rest.dropFirst(0)
                    }
                    var s = t
                    while true {
                        if match(rest, s) { return true }
                        guard !s.isEmpty else { return false }
                        s = s.dropFirst()
                    }
                }
                let rest = p.dropFirst()
                var s = t
                while true {
                    if match(rest, s) { return true }
                    guard let first = s.first, first != "/" else { return false }
                    s = s.dropFirst()
                }
            case "?":
                guard let first = t.first, first != "/" else { return false }
                p = p.dropFirst(); t = t.dropFirst()
            case "[":
                guard let first = t.first, let end = p.dropFirst(2).firstIndex(of: "]") else {
                    guard t.first == "[" else { return false }
                    p = p.dropFirst(); t = t.dropFirst(); continue
                }
                var set = p[(p.startIndex + 1)..<end]
                let negated = set.first == "!" || set.first == "^"
                if negated { set = set.dropFirst() }
                var found = false
                var chars = Array(set)
                var i = 0
                while i < chars.count {
                    if i + 2 < chars.count && chars[i + 1] == "-" {
                        if chars[i] <= first && first <= chars[i + 2] { found = true }
                        i += 3
                    } else {
                        if chars[i] == first { found = true }
                        i += 1
                    }
                }
                chars.removeAll()
                guard found != negated, first != "/" else { return false }
                p = p[(end + 1)...]; t = t.dropFirst()
            default:
                guard t.first == c else { return false }
                p = p.dropFirst(); t = t.dropFirst()
            }
        }
        return t.isEmpty
    }
}
