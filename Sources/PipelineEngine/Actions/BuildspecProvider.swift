import Foundation
import PipelineModel

/// The Buildspec provider (Build/Test; CodeBuild mapped to it): runs a buildspec as CodeBuild does —
/// phases install, pre_build, build, post_build in one bash session (0.2) or a fresh shell per
/// command (0.1); a failed install or pre_build goes straight to finalizing, a failed build still
/// runs post_build with CODEBUILD_BUILD_SUCCEEDING=0; artifacts, reports and cache are handled
/// whatever the outcome (CodeBuild's phase transitions, buildspec reference).
struct BuildspecProvider: ActionProvider {
    static let name = "Buildspec"

    func describe(_ action: Action) -> String {
        let spec = action.configuration["BuildSpec"] ?? action.configuration["buildspec"] ?? "buildspec.yml"
        return "[git-pipeline] runs " + (spec.contains("\n") ? "the inline buildspec" : spec) +
            " from \(action.inputArtifacts.first ?? "no input"), as CodeBuild would\n"
    }

    func run(_ context: ActionContext) async throws -> ActionOutcome {
        let secondary: [String: String]
        switch try context.unpackInputs() {
        case .success(let folders): secondary = folders
        case .failure(let outcome): return outcome
        }
        let buildspec: Buildspec
        switch loadBuildspec(context) {
        case .success(let spec): buildspec = spec
        case .failure(let outcome): return outcome
        }
        for warning in buildspec.warnings { context.log("[Container] buildspec \(warning)") }
        if buildspec.shell == "sh" { context.log("[Container] env.shell sh: the commands run in bash, which runs sh scripts") }

        // Environment: the buildspec's variables, then the action's EnvironmentVariables (they win,
        // as a start-build override does in CodeBuild), secrets last; CODEBUILD_* are ours.
        var environment = context.environment(sourceDirectory: context.workspace, secondaryInputs: secondary)
        let secrets = SecretStore(layout: context.layout)
        var missing: [String] = []
        func put(_ name: String, _ value: String) { if !name.hasPrefix("CODEBUILD_") { environment[name] = value } }
        // A secret reaches only the action that references it, and is masked from then on.
        func putSecret(_ name: String, _ value: String?, _ reference: String) {
            if let value { put(name, context.reveal(value)) } else { missing.append(reference) }
        }
        for variable in buildspec.variables { put(variable.name, variable.value) }
        let overrides: [(name: String, value: String, type: String)]
        do { overrides = try actionVariables(context) } catch let failure as ActionOutcome { return failure }
        for variable in overrides {
            switch variable.type {
            case "PARAMETER_STORE": putSecret(variable.name, try secrets.parameter(variable.value), variable.value)
            case "SECRETS_MANAGER": putSecret(variable.name, try secrets.secret(variable.value), variable.value)
            default: put(variable.name, variable.value)
            }
        }
        for variable in buildspec.parameterStore { putSecret(variable.name, try secrets.parameter(variable.value), variable.value) }
        for variable in buildspec.secretsManager { putSecret(variable.name, try secrets.secret(variable.value), variable.value) }
        if !missing.isEmpty {
            let names = missing.map { "`\($0)`" }.joined(separator: ", ")
            context.log("[Container] secrets not set in this repository: \(names); run `git pipeline secret set NAME` on the server")
            return .failure("secrets not set: \(names) — run `git pipeline secret set NAME` in the repository")
        }

        let cache = BuildCache(context: context, paths: buildspec.cachePaths)
        cache.restore()
        let script = Self.script(buildspec, source: context.workspace, meta: context.meta)
        let (exit, timedOut) = try await context.runScript(script, named: "buildspec.sh", environment: environment)

        let phases = (try? String(contentsOfFile: context.meta + "/phases", encoding: .utf8)) ?? ""
        let failedPhase = phases.split(separator: "\n").first { $0.hasSuffix(" FAILED") }.map { String($0.split(separator: " ")[0]) }
        let failedCommand = (try? String(contentsOfFile: context.meta + "/failed", encoding: .utf8))?.trimmingCharacters(in: .newlines)
        let succeeded = exit.succeeded && !timedOut && failedPhase == nil

        // Finalizing: artifacts and reports whatever the outcome, the cache after a success.
        context.log("[Container] \(timestamp(context.world.clock.now())) Entering phase UPLOAD_ARTIFACTS")
        var stored: [(name: String, digest: String, size: Int64)] = []
        var artifactProblem: String?
        do { stored = try storeArtifacts(buildspec, context: context) } catch let problem as ActionOutcome { artifactProblem = problem.errorMessage }
        let reports = TestReports.collect(buildspec.reports, source: context.workspace, mask: context.secrets.mask, log: context.log)
        if succeeded && artifactProblem == nil { cache.save() }

        var outcome: ActionOutcome
        if timedOut {
            outcome = .failure("timed out after \(context.action.timeoutInMinutes) minutes", command: failedCommand)
        } else if !succeeded {
            var message = failedPhase.map { "phase \($0) failed" } ?? exit.description
            if let reports, reports.failed > 0 { message += "; \(reports.summary): " + reports.failures.prefix(5).map(\.name).joined(separator: ", ") }
            outcome = .failure(message, command: failedCommand)
        } else if let artifactProblem {
            outcome = .failure(artifactProblem)
        } else {
            outcome = ActionOutcome(succeeded: true, summary: nil)
        }
        outcome.summary = reports?.summary
        outcome.testReport = reports
        outcome.outputArtifacts = stored
        outcome.outputVariables = context.exportedVariables(names: buildspec.exportedVariables)
        return outcome
    }

    private func timestamp(_ seconds: Double) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy/MM/dd HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }

    /// `configuration.BuildSpec` (or `buildspec`): inline YAML when it spans lines, else a path in
    /// the primary input; default `buildspec.yml` (CodeBuild's).
    private func loadBuildspec(_ context: ActionContext) -> Result<Buildspec, ActionOutcome> {
        let configured = context.action.configuration["BuildSpec"] ?? context.action.configuration["buildspec"]
        let text: String, file: String
        if let configured, configured.contains("\n") {
            (text, file) = (configured, "\(context.action.name) configuration.BuildSpec")
        } else {
            let path = configured ?? "buildspec.yml"
            file = path
            if FileManager.default.fileExists(atPath: context.workspace + "/" + path),
               Confinement.path(path, in: context.workspace, mustExist: true) == nil {
                context.log("[Container] \(path) leads out of the source (a link or ..); it is not read")
                return .failure(.failure("\(path): the buildspec is a link out of the source (or climbs out with ..); it is not read — commit the file itself"))
            }
            guard let inside = Confinement.path(path, in: context.workspace, mustExist: true),
                  let data = context.world.files.read(inside) else {
                let inputs = context.action.inputArtifacts.first ?? "no input artifact"
                context.log("[Container] no buildspec at \(path) in \(inputs)")
                return .failure(.failure("no buildspec at \(path) in the primary input (\(inputs)) — add it to the repository, or set configuration.BuildSpec"))
            }
            text = String(decoding: data, as: UTF8.self)
        }
        do {
            return .success(try BuildspecParser.parse(text, file: file))
        } catch {
            for diagnostic in error.diagnostics { context.log("[Container] \(diagnostic)") }
            return .failure(.failure("invalid buildspec: \(error.diagnostics.first!)" + (error.diagnostics.count > 1 ? " (+\(error.diagnostics.count - 1) more)" : "")))
        }
    }

    /// CodePipeline's CodeBuild action setting `EnvironmentVariables`: a JSON list of
    /// `{name, value, type}` (type PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER).
    private func actionVariables(_ context: ActionContext) throws -> [(name: String, value: String, type: String)] {
        guard let text = context.action.configuration["EnvironmentVariables"], !text.isEmpty else { return [] }
        guard let list = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
            throw ActionOutcome.failure("configuration.EnvironmentVariables is not a JSON list of {name, value, type}")
        }
        return list.compactMap { item in
            guard let name = item["name"] as? String else { return nil }
            return (name, item["value"].map { "\($0)" } ?? "", (item["type"] as? String ?? "PLAINTEXT").uppercased())
        }
    }

    /// The primary `artifacts` become the action's first output artifact, `secondary-artifacts`
    /// the outputs of the same names.
    private func storeArtifacts(_ buildspec: Buildspec, context: ActionContext) throws -> [(name: String, digest: String, size: Int64)] {
        var stored: [(name: String, digest: String, size: Int64)] = []
        for (index, output) in context.action.outputArtifacts.enumerated() {
            let set = buildspec.secondaryArtifacts.first { $0.identifier == output.name }
                ?? (index == 0 ? buildspec.artifacts : nil)
                ?? output.files.map { BuildArtifacts(identifier: nil, files: $0, baseDirectory: nil, discardPaths: false, excludePaths: [], name: nil) }
            guard let set else {
                let message = "output artifact \(output.name): the buildspec has no " + (index == 0 ? "`artifacts`" : "`secondary-artifacts.\(output.name)`")
                context.log("[Container] " + message)
                throw ActionOutcome.failure(message)
            }
            var folder = context.workspace
            if let base = set.baseDirectory, !base.isEmpty {
                guard let inside = Confinement.path(base, in: context.workspace) else {
                    let message = "output artifact \(output.name): base-directory \(base) leaves the source folder (absolute, .., or a link out); artifacts come from inside it"
                    context.log("[Container] " + message)
                    throw ActionOutcome.failure(message)
                }
                folder = inside
            }
            guard context.world.files.exists(folder) else {
                context.log("[Container] output artifact \(output.name): base-directory \(set.baseDirectory ?? "") does not exist")
                throw ActionOutcome.failure("output artifact \(output.name): base-directory \(set.baseDirectory ?? "") does not exist")
            }
            let globs = set.files.map { $0 == "**/*" || $0 == "**" ? "**" : $0 }
            let result = try context.artifacts.storeFolder(folder, globs: globs, excludes: set.excludePaths, discardPaths: set.discardPaths)
            if result.files == 0 {
                context.log("[Container] output artifact \(output.name): no file matches \(set.files.joined(separator: ", "))")
                throw ActionOutcome.failure("output artifact \(output.name): no file matches \(set.files.joined(separator: ", "))")
            }
            context.log("[Container] output artifact \(output.name): \(result.files) files, sha256:\(result.digest.prefix(12))")
            stored.append((output.name, result.digest, result.size))
        }
        return stored
    }

    // MARK: The script

    /// The script: one bash session (0.2) whose steps are numbered, so that a command that calls
    /// `exit` (the shell ends inside `eval`) fails only that command: the EXIT trap records its
    /// status and carries on with the next step in a subshell, which inherits everything the
    /// commands set (variables, functions, the directory); each further `exit` nests one more.
    /// CodeBuild runs post_build, `finally` and the exported variables after such a command too.
    static func script(_ spec: Buildspec, source: String, meta: String) -> String {
        let q = shellQuote
        var lines = [
            "# git-pipeline Buildspec action: CodeBuild's phases, buildspec version \(spec.version).",
            "__gp_meta=\(q(meta))",
            "__gp_src=\(q(source))",
            "cd -- \"$__gp_src\" || exit 97",
            "__gp_ok=1; __gp_skip=0; __gp_phase_ok=1; __gp_step=0; __gp_incmd=0",
            "export CODEBUILD_BUILD_SUCCEEDING=1",
            "__gp_log() { printf '[Container] %(%Y/%m/%d %H:%M:%S)T %s\\n' -1 \"$*\"; }",
            "__gp_status() {",
            "  if [ \"$1\" -ne 0 ]; then",
            "    __gp_log \"Command did not exit successfully $__gp_c exit status $1\"",
            "    __gp_phase_ok=0",
            "    [ -e \"$__gp_meta/failed\" ] || printf '%s\\n' \"$__gp_c\" > \"$__gp_meta/failed\"",
            "  fi",
            "}",
            // The command runs in this shell (0.2: cd and variables carry over) or in a fresh one (0.1).
            // In a function of its own, a `return N` in a command is that command's status.
            "__gp_eval() { eval \"$__gp_c\"; }",
            "__gp_cmd() {",
            "  [ \"$__gp_phase_ok\" = 1 ] || return 0",
            "  __gp_log \"Running command $__gp_c\"",
            "  __gp_incmd=1",
            spec.sharesShell ? "  __gp_eval" : "  ( cd -- \"$__gp_src\" && exec bash --noprofile --norc -c \"$__gp_c\" )",
            "  __gp_s=$?; __gp_incmd=0",
            "  __gp_status \"$__gp_s\"",
            "}",
            // `exit N` inside a command: that command's status is N, and the build goes on.
            "__gp_exited() {",
            "  __gp_s=$?",
            "  [ \"$__gp_incmd\" = 1 ] || return",
            "  __gp_incmd=0",
            "  __gp_status \"$__gp_s\"",
            "  ( trap __gp_exited EXIT; __gp_steps )",
            "  exit $?",
            "}",
            "trap __gp_exited EXIT",
            "__gp_begin() { __gp_log \"Entering phase $1\"; __gp_phase_ok=1; }",
            "__gp_end() {",
            "  if [ \"$__gp_phase_ok\" = 1 ]; then __gp_state=SUCCEEDED; else __gp_state=FAILED; fi",
            "  __gp_log \"Phase complete: $1 State: $__gp_state\"",
            "  printf '%s %s\\n' \"$1\" \"$__gp_state\" >> \"$__gp_meta/phases\"",
            "  if [ \"$__gp_state\" = FAILED ]; then",
            "    __gp_ok=0; export CODEBUILD_BUILD_SUCCEEDING=0",
            // ABORT after install or pre_build: nothing but finalizing follows.
            "    if [ \"$2\" = abort ] && { [ \"$1\" = INSTALL ] || [ \"$1\" = PRE_BUILD ]; }; then __gp_skip=1; fi",
            "  fi",
            "}",
        ]
        // Each step is one line of a `case`; a step of a phase is skipped once an earlier phase aborted.
        var steps: [String] = []
        for phase in spec.phases {
            let upper = phase.name.uppercased()
            let guarded = "[ \"$__gp_skip\" = 0 ] || continue; "
            steps.append(guarded + "__gp_begin \(upper)")
            for command in phase.commands { steps.append(guarded + "__gp_c=\(q(command)); __gp_cmd") }
            if !phase.finally.isEmpty {
                // finally runs whatever the commands did; its own failure fails the phase too.
                steps.append(guarded + "__gp_saved=$__gp_phase_ok; __gp_phase_ok=1")
                for command in phase.finally { steps.append(guarded + "__gp_c=\(q(command)); __gp_cmd") }
                steps.append(guarded + "[ \"$__gp_saved\" = 1 ] || __gp_phase_ok=0")
            }
            steps.append(guarded + "__gp_end \(upper) \(phase.continueOnFailure ? "continue" : "abort")")
        }
        steps.append("__gp_log 'Entering phase FINALIZING'")
        steps += exportVariableLines(spec.exportedVariables, meta: meta)
        steps.append("trap - EXIT; [ \"$__gp_ok\" = 1 ] && exit 0 || exit 1")
        lines.append("__gp_steps() {")
        lines.append("  while :; do")
        lines.append("    __gp_step=$((__gp_step + 1))")
        lines.append("    case $__gp_step in")
        for (index, step) in steps.enumerated() { lines.append("    \(index + 1)) \(step) ;;") }
        lines.append("    *) break ;;")
        lines.append("    esac")
        lines.append("  done")
        lines.append("}")
        lines.append("__gp_steps")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// `cache.paths` kept per pipeline and action between executions, in `pipeline/cache/`. Paths are
/// relative to the source folder; a glob caches the folder before its first wildcard.
struct BuildCache {
    let context: ActionContext
    let paths: [String]

    var folder: String { context.layout.root + "/cache/\(context.execution.pipeline)/\(context.stage.name)/\(context.action.name)" }

    /// The cached folders, relative to the source: `node_modules/**/*` → `node_modules`.
    var roots: [String] {
        var result: [String] = []
        for path in paths {
            if path.hasPrefix("/") || path.hasPrefix("~") {
                context.log("[Container] cache path \(path) is outside the source folder; it already lives on this machine and is not copied")
                continue
            }
            let parts = path.split(separator: "/").prefix { !$0.contains("*") && !$0.contains("?") && !$0.contains("[") }
            let root = parts.joined(separator: "/")
            if !root.isEmpty && !root.split(separator: "/").contains("..") && !result.contains(root) { result.append(root) }
        }
        return result
    }

    func restore() {
        let fm = FileManager.default
        for root in roots where fm.fileExists(atPath: folder + "/" + root) {
            // What the source made a link out of the workspace is neither removed nor written through.
            guard let target = Confinement.path(root, in: context.workspace) else {
                context.log("[Container] cache: \(root) leads out of the workspace (a link); not restored")
                continue
            }
            try? fm.removeItem(atPath: target)
            try? fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if (try? fm.copyItem(atPath: folder + "/" + root, toPath: target)) != nil {
                context.log("[Container] cache: restored \(root)")
            }
        }
    }

    func save() {
        let fm = FileManager.default
        for root in roots where fm.fileExists(atPath: context.workspace + "/" + root) {
            // A link out of the workspace would copy the host's files into the cache.
            guard let source = Confinement.path(root, in: context.workspace, mustExist: true) else {
                context.log("[Container] cache: \(root) leads out of the workspace (a link); not saved")
                continue
            }
            let target = folder + "/" + root
            let temporary = target + ".saving"
            try? fm.removeItem(atPath: temporary)
            try? fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard (try? fm.copyItem(atPath: source, toPath: temporary)) != nil else { continue }
            try? fm.removeItem(atPath: target)
            try? fm.moveItem(atPath: temporary, toPath: target)
            context.log("[Container] cache: saved \(root)")
        }
    }
}
