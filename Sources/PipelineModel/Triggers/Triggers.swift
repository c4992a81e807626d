/// `main` for `refs/heads/main`, `v1.0` for `refs/tags/v1.0`; other refs unchanged.
public func shortRefName(_ ref: String) -> String {
    for prefix in ["refs/heads/", "refs/tags/"] where ref.hasPrefix(prefix) { return String(ref.dropFirst(prefix.count)) }
    return ref
}

/// CodePipeline V2's trigger (gitConfiguration push filters). Foundation-free: the post-receive
/// hook evaluates these on every push and must start in a few milliseconds.
public struct Trigger: Sendable, Codable, Equatable {
    public var push: [PushFilter]

    public init(push: [PushFilter]) { self.push = push }
}

/// One push filter: fields are ANDed; a trigger's filters are ORed.
public struct PushFilter: Sendable, Codable, Equatable {
    public var branches: PatternFilter?
    public var tags: PatternFilter?
    public var filePaths: PatternFilter?

    public init(branches: PatternFilter? = nil, tags: PatternFilter? = nil, filePaths: PatternFilter? = nil) {
        self.branches = branches
        self.tags = tags
        self.filePaths = filePaths
    }

    /// Whether a push of `ref` (full name, `refs/heads/…` or `refs/tags/…`) matches `filters`.
    /// No filters means every branch push, as CodePipeline's default. Filters are ORed, the fields
    /// of one filter ANDed. `changedPaths` is nil when the caller has not computed them; a
    /// filePaths filter then does not match.
    public static func matches(_ filters: [PushFilter], ref: String, changedPaths: [String]?) -> Bool {
        let branch = ref.hasPrefix("refs/heads/") ? String(ref.dropFirst("refs/heads/".count)) : nil
        let tag = ref.hasPrefix("refs/tags/") ? String(ref.dropFirst("refs/tags/".count)) : nil
        if filters.isEmpty { return branch != nil }
        return filters.contains { filter in
            if let tags = filter.tags {
                guard let tag, tags.matches(tag) else { return false }
            } else if let branches = filter.branches {
                guard let branch, branches.matches(branch) else { return false }
            } else if branch == nil {
                return false
            }
            if let paths = filter.filePaths {
                guard let changedPaths, changedPaths.contains(where: paths.matches) else { return false }
            }
            return true
        }
    }
}

/// includes/excludes glob lists; excludes win.
public struct PatternFilter: Sendable, Codable, Equatable {
    public var includes: [String]
    public var excludes: [String]

    public init(includes: [String], excludes: [String]) {
        self.includes = includes
        self.excludes = excludes
    }

    /// True when `value` matches some include (or there are none) and no exclude.
    public func matches(_ value: String) -> Bool {
        if excludes.contains(where: { Glob($0).matches(value) }) { return false }
        return includes.isEmpty || includes.contains(where: { Glob($0).matches(value) })
    }
}


extension PushFilter {
    /// Filters as text lines (`entry<TAB>field<TAB>present|include|exclude<TAB>pattern`), the form
    /// the store's definition cache keeps them in, so the hook can read them without a JSON parser.
    public static func encodeLines(_ filters: [PushFilter]) -> String {
        var lines: [String] = []
        for (index, filter) in filters.enumerated() {
            for (field, value) in [("branches", filter.branches), ("tags", filter.tags), ("filePaths", filter.filePaths)] {
                guard let value else { continue }
                lines.append("\(index)\t\(field)\tpresent\t")
                lines += value.includes.map { "\(index)\t\(field)\tinclude\t\($0)" }
                lines += value.excludes.map { "\(index)\t\(field)\texclude\t\($0)" }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The inverse of `encodeLines`; lines it does not understand are skipped.
    public static func decodeLines(_ text: String) -> [PushFilter] {
        var filters: [PushFilter] = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false)
            guard parts.count == 4, let index = Int(parts[0]), index >= 0, index < 10_000 else { continue }
            while filters.count <= index { filters.append(PushFilter()) }
            let pattern = String(parts[3])
            func update(_ filter: inout PatternFilter?) {
                if filter == nil { filter = PatternFilter(includes: [], excludes: []) }
                if parts[2] == "include" { filter!.includes.append(pattern) }
                if parts[2] == "exclude" { filter!.excludes.append(pattern) }
            }
            switch parts[1] {
            case "branches": update(&filters[index].branches)
            case "tags": update(&filters[index].tags)
            case "filePaths": update(&filters[index].filePaths)
            default: continue
            }
        }
        return filters
    }
}
