import Yams

/// A CodeBuild buildspec (versions 0.1 and 0.2), as the Buildspec provider runs it.
public struct Buildspec: Sendable, Codable, Equatable {
    public static let phaseOrder = ["install", "pre_build", "build", "post_build"]

    public var version: String
    /// `env.shell`: bash (the default) or sh.
    public var shell: String
    public var variables: [NamedValue]
    /// `env.parameter-store`: variable → parameter name, resolved from the repository's secret store.
    public var parameterStore: [NamedValue]
    /// `env.secrets-manager`: variable → `secret-id[:json-key[:version-stage[:version-id]]]`.
    public var secretsManager: [NamedValue]
    public var exportedVariables: [String]
    /// The phases present, in CodeBuild's order.
    public var phases: [BuildPhase]
    public var artifacts: BuildArtifacts?
    public var secondaryArtifacts: [BuildArtifacts]
    public var cachePaths: [String]
    public var reports: [ReportGroup]
    public var warnings: [Diagnostic]

    /// Each command in a fresh shell (0.1) or all in one session (0.2).
    public var sharesShell: Bool { version != "0.1" }

    public func phase(_ name: String) -> BuildPhase? { phases.first { $0.name == name } }
}

public struct NamedValue: Sendable, Codable, Equatable {
    public var name: String
    public var value: String
}

public struct BuildPhase: Sendable, Codable, Equatable {
    public var name: String
    public var commands: [String]
    public var finally: [String]
    /// `on-failure`: ABORT (the default) or CONTINUE.
    public var continueOnFailure: Bool
}

/// `artifacts` or one of `secondary-artifacts`.
public struct BuildArtifacts: Sendable, Codable, Equatable {
    /// The secondary artifact's identifier (nil for the primary one).
    public var identifier: String?
    public var files: [String]
    public var baseDirectory: String?
    public var discardPaths: Bool
    public var excludePaths: [String]
    public var name: String?

    public init(identifier: String?, files: [String], baseDirectory: String? = nil, discardPaths: Bool = false,
                excludePaths: [String] = [], name: String? = nil) {
        self.identifier = identifier
        self.files = files
        self.baseDirectory = baseDirectory
        self.discardPaths = discardPaths
        self.excludePaths = excludePaths
        self.name = name
    }
}

/// One report group of `reports`.
public struct ReportGroup: Sendable, Codable, Equatable {
    public var name: String
    public var files: [String]
    public var baseDirectory: String?
    public var discardPaths: Bool
    public var fileFormat: String
}

/// A buildspec that cannot run: every error, in file order.
public struct BuildspecError: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [Diagnostic]
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Reads a buildspec and checks it against CodeBuild's rules (buildspec reference, version 0.2).
public struct BuildspecParser: YAMLReading {
    static let topKeys = ["version", "run-as", "env", "environment_variables", "proxy", "batch", "phases", "artifacts", "cache", "reports"]
    static let envKeys = ["shell", "variables", "parameter-store", "exported-variables", "secrets-manager", "git-credential-helper"]
    static let phaseKeys = ["commands", "finally", "on-failure", "runtime-versions", "run-as"]
    static let artifactKeys = ["files", "name", "discard-paths", "base-directory", "exclude-paths", "enable-symlinks", "s3-prefix",
                               "secondary-artifacts", "type"]
    static let reportKeys = ["files", "base-directory", "discard-paths", "file-format"]
    static let reportFormats = ["JUNITXML", "CUCUMBERJSON", "TESTNGXML", "NUNITXML", "NUNIT3XML", "VISUALSTUDIOTRX",
                                "CLOVERXML", "COBERTURAXML", "JACOCOXML", "SIMPLECOV"]

    let file: String
    var diagnostics: [Diagnostic] = []
    var misspelt: Set<String> = []

    init(file: String) { self.file = file }

    /// Parses and validates `text`; throws every error, or returns the buildspec with its warnings.
    public static func parse(_ text: String, file: String) throws(BuildspecError) -> Buildspec {
        var parser = BuildspecParser(file: file)
        // Parse first: the receiver of `outcome` must be the parser after parsing.
        let result = parser.parse(text)
        switch parser.outcome(result, empty: "the buildspec is empty", fix: "add `version: 0.2` and `phases:`") {
        case .success(var (buildspec, warnings)):
            buildspec.warnings = warnings
            return buildspec
        case .failure(let failure): throw BuildspecError(diagnostics: failure.diagnostics)
        }
    }

    /// Every finding (errors and warnings), for `lint`.
    public static func check(_ text: String, file: String) -> [Diagnostic] {
        var parser = BuildspecParser(file: file)
        let result = parser.parse(text)
        return parser.findings(result, empty: "the buildspec is empty")
    }

    mutating func parse(_ text: String) -> Buildspec? {
        guard let root = compose(text) else { return nil }
        guard case .mapping = root else {
            error(root, "a buildspec must be a mapping with `version` and `phases`")
            return nil
        }
        var top: [String: (key: Node, value: Node)] = [:]
        for (name, keyNode, value) in pairs(root) {
            if Self.topKeys.contains(name) {
                top[name] = (keyNode, value)
            } else {
                let guess = closestMatch(to: name, in: Self.topKeys)
                warning(keyNode, "unknown key `\(name)` in the buildspec; CodeBuild ignores it and so does git-pipeline",
                        fix: guess.map { "did you mean `\($0)`?" })
            }
        }
        var version = "0.2"
        if let node = top["version"]?.value, let text = string(node, "version") {
            if text == "0.1" || text == "0.2" { version = text } else {
                error(node, "buildspec version `\(text)` is not 0.1 or 0.2", fix: "write `version: 0.2`")
            }
        } else if top["version"] == nil {
            error(root, "the buildspec has no `version`", fix: "add `version: 0.2` as its first line")
        }
        if let runAs = top["run-as"] {
            warning(runAs.key, "`run-as` cannot switch users here; the commands run as the runner's user")
        }
        if let proxy = top["proxy"] { warning(proxy.key, "`proxy` has no meaning here; ignored") }

        var spec = Buildspec(version: version, shell: "bash", variables: [], parameterStore: [], secretsManager: [], exportedVariables: [],
                             phases: [], artifacts: nil, secondaryArtifacts: [], cachePaths: [], reports: [], warnings: [])
        if let env = top["env"] { parseEnv(env.value, into: &spec) }
        if let legacy = top["environment_variables"] {
            for (name, keyNode, value) in pairs(legacy.value) {
                if name == "plaintext" { spec.variables += namedValues(value, "environment_variables.plaintext") } else {
                    warning(keyNode, "`environment_variables.\(name)` is not known; ignored", fix: "use `plaintext:`")
                }
            }
        }
        if let batch = top["batch"] {
            if top["phases"] == nil {
                error(batch.key, "batch builds do not run in this version of git-pipeline, and this buildspec has no `phases` to run instead",
                      fix: "give each batch build its own action (several actions with one runOrder run in parallel)")
            } else {
                warning(batch.key, "batch builds do not run here yet; `batch` is ignored and the phases run as one build")
            }
        }
        if let phases = top["phases"] {
            parsePhases(phases.value, into: &spec)
        } else if top["batch"] == nil {
            error(root, "the buildspec has no `phases`", fix: "add `phases:` with `build: {commands: [...]}`")
        }
        if let artifacts = top["artifacts"] { parseArtifacts(artifacts.value, into: &spec) }
        if let cache = top["cache"] {
            for (name, keyNode, value) in pairs(cache.value) {
                if name == "paths" { spec.cachePaths = strings(value, "cache.paths") } else {
                    warning(keyNode, "`cache.\(name)` is not used here; the cache is kept per pipeline between executions")
                }
            }
        }
        if let reports = top["reports"] { parseReports(reports.value, into: &spec) }
        return spec
    }

    mutating func parseEnv(_ node: Node, into spec: inout Buildspec) {
        guard case .mapping = node else { error(node, "`env` must be a mapping"); return }
        for (name, keyNode, value) in pairs(node) {
            switch name {
            case "shell":
                if let shell = string(value, "env.shell") {
                    if ["bash", "/bin/bash", "sh", "/bin/sh"].contains(shell) { spec.shell = shell.hasSuffix("sh") && !shell.hasSuffix("bash") ? "sh" : "bash" } else {
                        warning(value, "shell `\(shell)` is not available here; commands run in bash")
                    }
                }
            case "variables": spec.variables += namedValues(value, "env.variables")
            case "parameter-store": spec.parameterStore += namedValues(value, "env.parameter-store")
            case "secrets-manager":
                spec.secretsManager += namedValues(value, "env.secrets-manager")
            case "exported-variables": spec.exportedVariables += strings(value, "env.exported-variables")
            case "git-credential-helper":
                warning(keyNode, "`git-credential-helper` is accepted and ignored: actions here use the runner's own git credentials")
            default:
                let guess = closestMatch(to: name, in: Self.envKeys)
                warning(keyNode, "unknown key `\(name)` in `env`; ignored", fix: guess.map { "did you mean `\($0)`?" })
            }
        }
    }

    mutating func namedValues(_ node: Node, _ what: String) -> [NamedValue] {
        if isNull(node) { return [] }
        guard case .mapping = node else { error(node, "`\(what)` must be a mapping of names to values"); return [] }
        var result: [NamedValue] = []
        for (name, _, value) in pairs(node) {
            if isNull(value) { result.append(NamedValue(name: name, value: "")); continue }
            if let text = string(value, "`\(what).\(name)`") { result.append(NamedValue(name: name, value: text)) }
        }
        return result
    }

    mutating func strings(_ node: Node, _ what: String) -> [String] {
        if case .scalar = node { return isNull(node) ? [] : [node.string ?? ""] }
        return list(node, what).compactMap { item in isNull(item) ? nil : string(item, "an item of `\(what)`") }
    }

    mutating func flag(_ node: Node, _ what: String) -> Bool {
        guard let text = string(node, what) else { return false }
        switch text.lowercased() {
        case "yes", "true", "on": return true
        case "no", "false", "off": return false
        default:
            error(node, "`\(what)` must be yes or no, not `\(text)`")
            return false
        }
    }

    mutating func parsePhases(_ node: Node, into spec: inout Buildspec) {
        guard case .mapping = node else { error(node, "`phases` must be a mapping of phase names"); return }
        var found: [String: BuildPhase] = [:]
        for (name, keyNode, value) in pairs(node) {
            guard Buildspec.phaseOrder.contains(name) else {
                let guess = closestMatch(to: name, in: Buildspec.phaseOrder)
                error(keyNode, "unknown phase `\(name)`",
                      fix: guess.map { "did you mean `\($0)`?" } ?? "phases are \(Buildspec.phaseOrder.joined(separator: ", "))")
                continue
            }
            if let phase = parsePhase(name, keyNode: keyNode, value) { found[name] = phase }
        }
        spec.phases = Buildspec.phaseOrder.compactMap { found[$0] }
    }

    mutating func parsePhase(_ name: String, keyNode: Node, _ node: Node) -> BuildPhase? {
        if isNull(node) {
            error(keyNode, "phase `\(name)` is empty", fix: "add `commands:` with a list of commands, or remove the phase")
            return nil
        }
        guard case .mapping = node else { error(node, "phase `\(name)` must be a mapping with `commands`"); return nil }
        var phase = BuildPhase(name: name, commands: [], finally: [], continueOnFailure: false)
        var hasCommands = false
        for (key, keyNode, value) in pairs(node) {
            switch key {
            case "commands":
                hasCommands = true
                phase.commands = commands(value, phase: name, block: "commands")
            case "finally":
                hasCommands = true
                phase.finally = commands(value, phase: name, block: "finally")
            case "on-failure":
                if let text = string(value, "on-failure") {
                    switch text.uppercased() {
                    case "ABORT": phase.continueOnFailure = false
                    case "CONTINUE": phase.continueOnFailure = true
                    default:
                        if text.uppercased().hasPrefix("RETRY") {
                            warning(value, "`on-failure: \(text)` does not retry here; it is treated as ABORT")
                        } else {
                            error(value, "on-failure `\(text)` is not ABORT or CONTINUE")
                        }
                    }
                }
            case "runtime-versions":
                hasCommands = true  // a phase may only select runtimes
                let names = pairs(value).map { "\($0.key) \($0.value.string ?? "")" }
                warning(keyNode, "runtime-versions (\(names.joined(separator: ", "))) cannot be installed here; the tools on the runner's PATH are used")
            case "run-as":
                warning(keyNode, "`run-as` cannot switch users here; the commands run as the runner's user")
            default:
                let guess = closestMatch(to: key, in: Self.phaseKeys)
                let hint = key == "steps" || key == "run" || key == "uses"
                    ? "`\(key)` is GitHub Actions syntax; a buildspec phase lists shell commands under `commands:`"
                    : guess.map { "did you mean `\($0)`?" } ?? "a phase has \(Self.phaseKeys.joined(separator: ", "))"
                error(keyNode, "unknown key `\(key)` in phase `\(name)`", fix: hint)
            }
        }
        if !hasCommands {
            error(keyNode, "phase `\(name)` has no commands", fix: "add `commands:` with a list of shell commands")
            return nil
        }
        return phase
    }

    /// A command list: each item one command (a `- |` block is one command); a bare scalar is one
    /// command; an item that is only a comment reads as null and is skipped with a warning.
    mutating func commands(_ node: Node, phase: String, block: String) -> [String] {
        if case .scalar = node {
            if isNull(node) {
                warning(node, "`\(phase).\(block)` is empty")
                return []
            }
            return [node.string ?? ""]
        }
        guard case .sequence(let items) = node else {
            error(node, "`\(phase).\(block)` must be a list of commands", fix: "put each command on its own line starting with `- `")
            return []
        }
        var result: [String] = []
        for item in items {
            if isNull(item) {
                warning(item, "an empty item in `\(phase).\(block)` (only a comment?) is skipped")
                continue
            }
            guard case .scalar(let scalar) = item else {
                error(item, "an item of `\(phase).\(block)` is a \(item.mapping != nil ? "mapping" : "list"), not a command",
                      fix: "quote the command (a `: ` inside a command makes YAML read a mapping): `- \"…\"`")
                continue
            }
            warnIfCutByComment(item)
            result.append(scalar.string)
        }
        return result
    }

    mutating func parseArtifacts(_ node: Node, into spec: inout Buildspec) {
        guard case .mapping = node else { error(node, "`artifacts` must be a mapping with `files`"); return }
        spec.artifacts = artifactSet(node, identifier: nil, what: "artifacts")
        if let secondary = pairs(node).first(where: { $0.key == "secondary-artifacts" }) {
            for (identifier, _, value) in pairs(secondary.value) {
                if let set = artifactSet(value, identifier: identifier, what: "secondary-artifacts.\(identifier)") { spec.secondaryArtifacts.append(set) }
            }
        }
        if spec.artifacts?.files.isEmpty == true { spec.artifacts = nil }
    }

    mutating func artifactSet(_ node: Node, identifier: String?, what: String) -> BuildArtifacts? {
        guard case .mapping = node else { error(node, "`\(what)` must be a mapping with `files`"); return nil }
        var set = BuildArtifacts(identifier: identifier, files: [], baseDirectory: nil, discardPaths: false, excludePaths: [], name: nil)
        var hasFiles = false
        for (key, keyNode, value) in pairs(node) {
            switch key {
            case "files": hasFiles = true; set.files = strings(value, "\(what).files")
            case "name": set.name = string(value, "\(what).name")
            case "discard-paths": set.discardPaths = flag(value, "\(what).discard-paths")
            case "base-directory": set.baseDirectory = string(value, "\(what).base-directory")
            case "exclude-paths": set.excludePaths = strings(value, "\(what).exclude-paths")
            case "secondary-artifacts" where identifier == nil: break
            case "enable-symlinks", "s3-prefix", "type":
                warning(keyNode, "`\(what).\(key)` has no meaning here; ignored")
            default:
                let guess = closestMatch(to: key, in: Self.artifactKeys)
                warning(keyNode, "unknown key `\(key)` in `\(what)`; ignored", fix: guess.map { "did you mean `\($0)`?" })
            }
        }
        if !hasFiles && identifier != nil {
            error(node, "`\(what)` has no `files`", fix: "add `files: ['**/*']`")
        }
        return set
    }

    mutating func parseReports(_ node: Node, into spec: inout Buildspec) {
        guard case .mapping = node else { error(node, "`reports` must be a mapping of report group names"); return }
        for (group, keyNode, value) in pairs(node) {
            var report = ReportGroup(name: group, files: [], baseDirectory: nil, discardPaths: false, fileFormat: "JUNITXML")
            guard case .mapping = value else { error(keyNode, "report group `\(group)` must be a mapping with `files`"); continue }
            for (key, keyNode, v) in pairs(value) {
                switch key {
                case "files": report.files = strings(v, "reports.\(group).files")
                case "base-directory": report.baseDirectory = string(v, "base-directory")
                case "discard-paths": report.discardPaths = flag(v, "discard-paths")
                case "file-format":
                    let format = (string(v, "file-format") ?? "JUNITXML").uppercased()
                    if !Self.reportFormats.contains(format) {
                        error(v, "report file-format `\(format)` is not one of CodeBuild's", fix: Self.reportFormats.joined(separator: ", "))
                    } else if format != "JUNITXML" {
                        warning(v, "report format \(format) is not read here (only JUNITXML); the files are kept but not counted")
                    }
                    report.fileFormat = format
                default:
                    warning(keyNode, "unknown key `\(key)` in report group `\(group)`; ignored",
                            fix: closestMatch(to: key, in: Self.reportKeys).map { "did you mean `\($0)`?" })
                }
            }
            if report.files.isEmpty { error(keyNode, "report group `\(group)` has no `files`", fix: "add `files: ['**/*.xml']`") }
            spec.reports.append(report)
        }
    }
}
