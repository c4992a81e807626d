import Foundation
import Git
import PipelineModel

/// What an action needs to run: its declaration, where to put its workspace and log, the artifacts
/// produced so far, the environment CodeBuild would give it, and the world it runs in.
struct ActionContext: Sendable {
    let execution: ExecutionRecord
    let stage: Stage
    let action: Action
    /// The action's row in the store.
    let actionId: Int64
    let attempt: Int
    let layout: StateLayout
    let settings: PipelineSettings
    let store: Store
    let notes: NotesWriter
    let artifacts: ArtifactStore
    /// Artifact name → digest, for every artifact produced earlier in this execution.
    let availableArtifacts: [String: String]
    let logPath: String
    let workspace: String
    let world: World
    /// Rings when the store changes: what an action that waits on a decision sleeps on.
    let doorbell: Doorbell
    /// The pipeline's `network` (nil: on); an action's `configuration.Network` wins.
    var pipelineNetwork: String? = nil
    /// The artifacts of Git sources with `OutputArtifactFormat: CODEBUILD_CLONE_REF`: a consumer gets
    /// a clone of the repository with its history instead of the tree.
    var cloneArtifacts: Set<String> = []
    /// The secrets given to this action so far: its log, its output and its results are masked with them.
    var secrets = ActionSecrets()

    /// Appends a line to the action's log.
    func log(_ line: String) { world.files.append(logPath, secrets.mask.apply(line) + "\n") }

    /// Gives the action a secret's value: from now on it is masked wherever the action's text goes.
    func reveal(_ value: String) -> String {
        secrets.add(value)
        return value
    }

    /// Records the running process group, so stop and recovery can signal it.
    func recordProcessGroup(_ pid: pid_t) throws {
        try store.write { db in try db.cachedStatement(sql: "UPDATE actions SET processGroup = ? WHERE id = ?").execute(arguments: [Int(pid), actionId]) }
    }

    /// CodeBuild's variables plus ours (SPEC §6).
    func environment(sourceDirectory: String, secondaryInputs: [String: String]) -> [String: String] {
        // In the sandbox the environment starts from scratch: nothing of the runner's reaches it.
        var env = settings.sandbox ? ActionSandbox.baseEnvironment(world.environment) : world.environment
        let start = Int64((execution.startedAt ?? world.clock.now()) * 1000)
        env["CODEBUILD_BUILD_ID"] = "\(execution.pipeline):\(execution.id)"
        env["CODEBUILD_BUILD_NUMBER"] = String(execution.number)
        env["CODEBUILD_RESOLVED_SOURCE_VERSION"] = execution.sourceRevision
        env["CODEBUILD_SOURCE_VERSION"] = execution.sourceRevision
        env["CODEBUILD_SRC_DIR"] = sourceDirectory
        env["CODEBUILD_BUILD_SUCCEEDING"] = "1"
        env["CODEBUILD_INITIATOR"] = "codepipeline/\(execution.pipeline)"
        env["CODEBUILD_START_TIME"] = String(start)
        env["CODEBUILD_WEBHOOK_HEAD_REF"] = execution.ref
        for (name, path) in secondaryInputs { env["CODEBUILD_SRC_DIR_\(name)"] = path }
        env["PIPELINE_NAME"] = execution.pipeline
        env["PIPELINE_EXECUTION_ID"] = execution.id
        env["PIPELINE_EXECUTION_NUMBER"] = String(execution.number)
        env["PIPELINE_STAGE"] = stage.name
        env["PIPELINE_ACTION"] = action.name
        env["PIPELINE_ACTION_ATTEMPT"] = String(attempt)
        env["PIPELINE_REF"] = execution.ref
        env["PIPELINE_BRANCH"] = execution.ref.hasPrefix("refs/heads/") ? execution.refShortName : ""
        env["PIPELINE_TAG"] = execution.ref.hasPrefix("refs/tags/") ? execution.refShortName : ""
        env["PIPELINE_COMMIT"] = execution.sourceRevision
        env["PIPELINE_REPOSITORY"] = layout.gitDirectory
        return env
    }
}

/// Quotes text for bash: single quotes, each quote inside closed and reopened.
func shellQuote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

/// Bash lines appending each variable as `NAME=value\0` to `<meta>/variables`, read back by
/// `ActionContext.exportedVariables(names:)` (NUL-separated: values may hold newlines).
func exportVariableLines(_ names: [String], meta: String) -> [String] {
    names.map { "printf '%s=%s\\0' \(shellQuote($0)) \"${\($0)-}\" >> \(shellQuote(meta + "/variables"))" }
}

/// An action's failure before anything ran (as a Result's failure).
extension ActionOutcome: Error {}

extension ActionContext {
    /// The metadata folder beside the workspace (scripts, the current command, exported variables).
    var meta: String { workspace + ".meta" }

    /// The variables a script exported with `exportVariableLines`, those of `names` only.
    func exportedVariables(names: [String]) -> [String: String] {
        guard let data = world.files.read(meta + "/variables") else { return [:] }
        var result: [String: String] = [:]
        for chunk in data.split(separator: 0) {
            let text = String(decoding: chunk, as: UTF8.self)
            guard let equals = text.firstIndex(of: "=") else { continue }
            let name = String(text[..<equals])
            if names.contains(name) { result[name] = String(text[text.index(after: equals)...]) }
        }
        return result
    }

    /// Creates the workspace and unpacks the input artifacts: the first (primary) into the
    /// workspace, the others into `<workspace>.inputs/NAME`. Returns the secondary folders by name.
    /// The SourceArtifact is written from the commit's tree in the repository (the same files as
    /// its zip, at the speed of `git archive | tar -x`); any other artifact is unzipped.
    func unpackInputs() throws -> Result<[String: String], ActionOutcome> {
        try world.files.createDirectory(workspace)
        try world.files.createDirectory(meta)
        var secondary: [String: String] = [:]
        let source = sourceTree()
        var files = 0
        defer { MemoryLimits.release(afterFiles: files) }
        for (index, input) in action.inputArtifacts.enumerated() {
            guard let digest = availableArtifacts[input] else {
                return .failure(.failure("input artifact \(input) was not produced in this execution"))
            }
            let target = index == 0 ? workspace : workspace + ".inputs/" + input
            try world.files.createDirectory(target)
            let started = world.clock.now()
            let how: String
            do {
                if cloneArtifacts.contains(input), let commit = ObjectID(hex: execution.sourceRevision) {
                    let branch = execution.ref.hasPrefix("refs/heads/") ? execution.refShortName : nil
                    try Repository.clone(from: layout.gitDirectory, into: target, commit: commit, branch: branch)
                    files = max(files, 1_000)  // a whole clone: give its memory back like a big tree's
                    how = "cloned with its history (CODEBUILD_CLONE_REF), " + (branch.map { "on branch \($0)" } ?? "at a detached HEAD")
                } else if let source, source.digest == digest {
                    let count = try TreeCheckout(gitDirectory: layout.gitDirectory)
                        .write(commit: source.commit, profile: source.profile, into: target, opened: source.repository)
                    files += count
                    how = "checked out from tree of \(source.commit.short) (\(count) files)"
                } else {
                    let zip = try artifacts.verifiedZip(digest)
                    try zip.extract(into: target)
                    files += zip.entries.count
                    how = "unpacked"
                }
            } catch {
                return .failure(.failure("cannot unpack input artifact \(input): \(error)"))
            }
            if index > 0 { secondary[input] = target }
            let seconds = String(format: "%.2f", world.clock.now() - started)
            log("[Container] input artifact \(input) (sha256:\(digest.prefix(12))) \(how) into \(target) in \(seconds)s")
        }
        return .success(secondary)
    }

    /// The execution's commit tree and its SourceArtifact's digest, when that tree was zipped (with
    /// the repository handle that read it, for the checkout).
    private func sourceTree() -> (commit: ObjectID, digest: String, profile: ExportProfile, repository: Repository)? {
        guard !action.inputArtifacts.isEmpty, let commit = ObjectID(hex: execution.sourceRevision),
              let repository = try? Repository(path: layout.gitDirectory), let tree = try? repository.commit(commit).tree,
              let profile = try? repository.exportProfile(),
              let digest = artifacts.sourceDigest(ofCommit: commit, tree: tree, profile: profile) else { return nil }
        return (commit, digest, profile, repository)
    }

    /// Runs a bash script in the action's own process group, with its timeout; whatever the script
    /// left running is stopped when it ends. Output goes to the log, `mask` values as `***`.
    func runScript(_ script: String, named name: String, environment: [String: String], mask: [String] = [],
                   timeoutSeconds: Double? = nil, writable: [String] = [],
                   capabilities: [String] = []) async throws -> (ProcessExit, timedOut: Bool) {
        let path = meta + "/" + name
        try world.files.createDirectory(meta)
        try world.files.write(path, text: script)
        var spec = ProcessLauncher.Spec(executable: "/bin/bash", arguments: ["--noprofile", "--norc", path],
                                        environment: environment, logPath: logPath, mask: mask + secrets.values)
        try confine(&spec, writable: writable, capabilities: capabilities)
        let (pid, pump) = try world.launcher.start(spec)
        try recordProcessGroup(pid)
        let timeout = timeoutSeconds ?? Double(action.timeoutInMinutes) * 60
        let (exit, timedOut) = await world.launcher.wait(pid: pid, timeout: timeout, grace: settings.killGraceSeconds)
        // Whatever the commands left running in the background dies with the action.
        await ProcessSupervisor.terminate(group: pid, grace: 2)
        pump?.drain()
        if timedOut {
            log("[Container] action timed out after \(Int(timeout / 60)) minutes; its process group was stopped")
        }
        return (exit, timedOut)
    }
}

extension ActionContext {
    /// `configuration.Network`, else the pipeline's `network`: `none` cuts the action off.
    var networkAllowed: Bool {
        (action.configuration["Network"] ?? pipelineNetwork ?? "on").lowercased() != "none"
    }

    /// Makes `spec` run in the action's sandbox (or, with the sandbox off, in its own cgroup): the
    /// one way a pusher's code is started.
    func confine(_ spec: inout ProcessLauncher.Spec, writable: [String] = [], capabilities: [String] = []) throws {
        guard var sandbox = sandbox(writable: writable) else {
            spec.containment = true
            if ProcessContainment.base == nil {
                log("[git-pipeline] no sandbox, and no cgroup this user may make: a process that leaves the action's process group can outlive it")
            }
            return
        }
        sandbox.capabilities = capabilities
        guard let bwrap = ActionSandbox.program else {
            throw ActionOutcome.failure("the sandbox needs bubblewrap, which is not installed: `apt-get install bubblewrap` " +
                                        "(or, where it cannot be had, `git config pipeline.sandbox false`, which runs actions unconfined)")
        }
        spec.arguments = sandbox.arguments(executable: spec.executable, spec.arguments)
        spec.executable = bwrap
    }

    /// The sandbox the action's processes run in, nil when `pipeline.sandbox` is false. Writable:
    /// the workspace with its metadata, inputs and outputs folders, and `extra` (a deploy's target).
    func sandbox(writable extra: [String]) -> ActionSandbox? {
        guard settings.sandbox else { return nil }
        let own = [workspace, meta, workspace + ".inputs", workspace + ".outputs"].filter { world.files.exists($0) }
        // The admin's shared folders, unless they would uncover the repository or its state.
        let shared = settings.sandboxWritable.map(ActionSandbox.standardized).filter { folder in
            folder.hasPrefix("/") && !ActionSandbox.isInside(layout.gitDirectory, folder) && !ActionSandbox.isInside(folder, layout.gitDirectory)
                && world.files.exists(folder)
        }
        let extra = extra + shared
        for folder in extra { try? world.files.createDirectory(folder) }
        return ActionSandbox.forRepository(layout.gitDirectory, stateFolder: layout.root, home: world.environment["HOME"],
                                           path: world.environment["PATH"], readable: settings.sandboxReadable, writable: own + extra.filter { !own.contains($0) }, network: networkAllowed)
    }
}

/// What an action ended with.
struct ActionOutcome: Sendable {
    var succeeded: Bool
    var summary: String?
    var errorMessage: String?
    var failedCommand: String?
    var outputArtifacts: [(name: String, digest: String, size: Int64)] = []
    var outputVariables: [String: String] = [:]
    var testReport: TestReport?

    static func failure(_ message: String, command: String? = nil) -> ActionOutcome {
        ActionOutcome(succeeded: false, errorMessage: message, failedCommand: command)
    }
}

extension ActionOutcome {
    /// The outcome as the store may keep it: no secret the action was given in its texts, its test
    /// report, or its output variables (a variable holding one is kept masked, and the summary says so).
    func masked(with mask: SecretMask, log: ActionContext) -> ActionOutcome {
        guard !mask.isEmpty else { return self }
        var result = self
        result.summary = mask.apply(summary)
        result.errorMessage = mask.apply(errorMessage)
        result.failedCommand = mask.apply(failedCommand)
        var hidden: [String] = []
        for (name, value) in outputVariables where mask.contains(value) {
            result.outputVariables[name] = mask.apply(value)
            hidden.append(name)
        }
        if !hidden.isEmpty {
            let remark = "output variable\(hidden.count == 1 ? "" : "s") \(hidden.sorted().joined(separator: ", ")) held a secret: kept masked"
            log.log("[git-pipeline] " + remark)
            result.summary = result.summary.map { $0 + "; " + remark } ?? remark
        }
        if var report = testReport {
            report.failures = report.failures.map { TestReport.Case(name: mask.apply($0.name), message: mask.apply($0.message)) }
            result.testReport = report
        }
        return result
    }
}
