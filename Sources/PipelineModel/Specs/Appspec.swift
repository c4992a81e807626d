import Yams

/// A CodeDeploy appspec for EC2/on-premises deployments (version 0.0), as the Directory deploy runs it.
public struct Appspec: Sendable, Codable, Equatable {
    /// CodeDeploy's in-place lifecycle events that run scripts, in order (its appspec reference).
    public static let lifecycle = ["ApplicationStop", "BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"]
    /// Events that exist only with a load balancer; accepted and skipped here.
    public static let trafficEvents = ["BeforeBlockTraffic", "AfterBlockTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"]

    public var files: [FileMapping]
    public var permissions: [Permission]
    /// DISALLOW (the default), OVERWRITE or RETAIN.
    public var fileExistsBehavior: String
    public var hooks: [String: [HookScript]]
    public var warnings: [Diagnostic]
}

public struct FileMapping: Sendable, Codable, Equatable {
    /// A path in the revision (`/` or `.` is all of it).
    public var source: String
    public var destination: String
}

public struct Permission: Sendable, Codable, Equatable {
    public var object: String
    public var pattern: String
    public var except: [String]
    public var owner: String?
    public var group: String?
    /// Octal, as written (`755`).
    public var mode: String?
    /// `file`, `directory`, or both when empty.
    public var types: [String]
}

public struct HookScript: Sendable, Codable, Equatable {
    public var location: String
    public var timeoutSeconds: Int
    public var runas: String?
}

public struct AppspecError: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [Diagnostic]
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Reads an appspec.yml and checks it against CodeDeploy's rules for EC2/on-premises.
public struct AppspecParser: YAMLReading {
    static let topKeys = ["version", "os", "files", "permissions", "hooks", "file_exists_behavior", "resources"]

    let file: String
    var diagnostics: [Diagnostic] = []
    var misspelt: Set<String> = []

    init(file: String) { self.file = file }

    public static func parse(_ text: String, file: String) throws(AppspecError) -> Appspec {
        var parser = AppspecParser(file: file)
        // Parse first: the receiver of `outcome` must be the parser after parsing.
        let result = parser.parse(text)
        switch parser.outcome(result, empty: "the appspec is empty", fix: "add `version: 0.0`, `os: linux` and `files:`") {
        case .success(var (appspec, warnings)):
            appspec.warnings = warnings
            return appspec
        case .failure(let failure): throw AppspecError(diagnostics: failure.diagnostics)
        }
    }

    /// Every finding, for `lint`.
    public static func check(_ text: String, file: String) -> [Diagnostic] {
        var parser = AppspecParser(file: file)
        let result = parser.parse(text)
        return parser.findings(result, empty: "the appspec is empty")
    }

    mutating func parse(_ text: String) -> Appspec? {
        guard let root = compose(text) else { return nil }
        guard case .mapping = root else { error(root, "an appspec must be a mapping with `version`, `os` and `files`"); return nil }
        var spec = Appspec(files: [], permissions: [], fileExistsBehavior: "DISALLOW", hooks: [:], warnings: [])
        var seen: Set<String> = []
        for (key, keyNode, value) in pairs(root) {
            seen.insert(key)
            switch key {
            case "version":
                if let v = string(value, "version"), v != "0.0" { error(value, "appspec version `\(v)` is not 0.0", fix: "write `version: 0.0`") }
            case "os":
                if let os = string(value, "os"), os != "linux" {
                    error(value, "os `\(os)` cannot be deployed here; the Directory deploy runs linux appspecs", fix: "write `os: linux`")
                }
            case "files": spec.files = parseFiles(value)
            case "permissions": spec.permissions = parsePermissions(value)
            case "hooks": spec.hooks = parseHooks(value)
            case "file_exists_behavior":
                if let text = string(value, "file_exists_behavior") {
                    if ["DISALLOW", "OVERWRITE", "RETAIN"].contains(text.uppercased()) { spec.fileExistsBehavior = text.uppercased() } else {
                        error(value, "file_exists_behavior `\(text)` is not DISALLOW, OVERWRITE or RETAIN")
                    }
                }
            case "resources":
                warning(keyNode, "`resources` is for ECS and Lambda deployments; the Directory deploy ignores it")
            default:
                let trimmed = key.trimmingSpacesAndBackslashes
                if let event = (Appspec.lifecycle + Appspec.trafficEvents).first(where: { trimmed.hasSuffix($0) }) {
                    error(keyNode, "`\(key)` is a top-level key, so the \(event) hook is outside `hooks` and would never run",
                          fix: "indent it under `hooks:` like the other events (and remove any stray character before it)")
                } else {
                    let guess = closestMatch(to: key, in: Self.topKeys)
                    warning(keyNode, "unknown key `\(key)` in the appspec; ignored", fix: guess.map { "did you mean `\($0)`?" })
                }
            }
        }
        if !seen.contains("version") { error(root, "the appspec has no `version`", fix: "add `version: 0.0`") }
        if !seen.contains("os") { error(root, "the appspec has no `os`", fix: "add `os: linux`") }
        return spec
    }

    mutating func parseFiles(_ node: Node) -> [FileMapping] {
        var result: [FileMapping] = []
        for item in list(node, "files") {
            guard case .mapping = item else { error(item, "each of `files` must be a mapping with `source` and `destination`"); continue }
            var source: String?, destination: String?
            for (key, keyNode, value) in pairs(item) {
                switch key {
                case "source": source = string(value, "files.source")
                case "destination": destination = string(value, "files.destination")
                default:
                    warning(keyNode, "unknown key `\(key)` in `files`; ignored",
                            fix: key == "overwrite" ? "use the top-level `file_exists_behavior: OVERWRITE`" : nil)
                }
            }
            guard let source, let destination else {
                error(item, "a `files` entry needs both `source` and `destination`")
                continue
            }
            if source.contains("://") {
                error(item.mapping?["source"] ?? item, "files.source `\(source)` is a URL; it must be a path inside the deployed revision",
                      fix: "use `/` (the whole revision) or a folder of it; the revision is the deploy action's input artifact")
                continue
            }
            if source.split(separator: "/").contains("..") {
                error(item.mapping?["source"] ?? item, "files.source `\(source)` leaves the revision", fix: "use a path inside it")
                continue
            }
            if destination.isEmpty { error(item, "files.destination is empty"); continue }
            if destination.split(separator: "/").contains("..") {
                error(item.mapping?["destination"] ?? item, "files.destination `\(destination)` climbs out of the deploy target with ..",
                      fix: "name a folder below the target (the release folder holds every destination)")
                continue
            }
            result.append(FileMapping(source: source, destination: destination))
        }
        return result
    }

    mutating func parsePermissions(_ node: Node) -> [Permission] {
        var result: [Permission] = []
        for item in list(node, "permissions") {
            guard case .mapping = item else { error(item, "each of `permissions` must be a mapping with `object`"); continue }
            var permission = Permission(object: "", pattern: "**", except: [], owner: nil, group: nil, mode: nil, types: [])
            for (key, keyNode, value) in pairs(item) {
                switch key {
                case "object": permission.object = string(value, "object") ?? ""
                case "pattern": permission.pattern = string(value, "pattern") ?? "**"
                case "except": permission.except = list(value, "except").compactMap { string($0, "an except pattern") }
                case "owner": permission.owner = string(value, "owner")
                case "group": permission.group = string(value, "group")
                case "mode":
                    if let mode = string(value, "mode") {
                        if mode.count <= 4, mode.allSatisfy({ ("0"..."7").contains($0) }) { permission.mode = mode } else {
                            error(value, "mode `\(mode)` is not an octal mode like 755")
                        }
                    }
                case "type":
                    permission.types = list(value, "type").compactMap { string($0, "a type") }
                    for (t, n) in zip(permission.types, list(value, "type")) where t != "file" && t != "directory" {
                        error(n, "permission type `\(t)` is not file or directory")
                    }
                case "acls", "context":
                    warning(keyNode, "`\(key)` in permissions is not applied here")
                default:
                    warning(keyNode, "unknown key `\(key)` in permissions; ignored")
                }
            }
            if permission.object.isEmpty { error(item, "a permission has no `object`", fix: "add `object:` with the destination path it applies to") }
            result.append(permission)
        }
        return result
    }

    mutating func parseHooks(_ node: Node) -> [String: [HookScript]] {
        guard case .mapping = node else { error(node, "`hooks` must be a mapping of lifecycle events to scripts"); return [:] }
        var result: [String: [HookScript]] = [:]
        for (event, keyNode, value) in pairs(node) {
            if Appspec.trafficEvents.contains(event) {
                warning(keyNode, "\(event) runs only with a load balancer; it is skipped here")
                continue
            }
            guard Appspec.lifecycle.contains(event) else {
                let guess = closestMatch(to: event, in: Appspec.lifecycle)
                error(keyNode, "unknown lifecycle event `\(event)`",
                      fix: guess.map { "did you mean `\($0)`?" } ?? "events are \(Appspec.lifecycle.joined(separator: ", "))")
                continue
            }
            var scripts: [HookScript] = []
            for item in list(value, "hooks.\(event)") {
                guard case .mapping = item else { error(item, "each script of \(event) must be a mapping with `location`"); continue }
                var script = HookScript(location: "", timeoutSeconds: 3600, runas: nil)
                for (key, keyNode, v) in pairs(item) {
                    switch key {
                    case "location": script.location = string(v, "location") ?? ""
                    case "timeout": script.timeoutSeconds = integer(v, "timeout", range: 1...3600) ?? 3600
                    case "runas": script.runas = string(v, "runas")
                    default: warning(keyNode, "unknown key `\(key)` in a \(event) script; ignored")
                    }
                }
                if script.location.isEmpty { error(item, "a \(event) script has no `location`", fix: "add `location: scripts/….sh`"); continue }
                scripts.append(script)
            }
            result[event] = scripts
        }
        return result
    }
}

extension String {
    var trimmingSpacesAndBackslashes: String {
        String(drop { $0 == " " || $0 == "\\" || $0 == "\t" })
    }
}
