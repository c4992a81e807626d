import Foundation
import PipelineModel

/// The Deploy provider `Directory` (CodeDeploy mapped to it): CodeDeploy's in-place deployment of an
/// appspec.yml revision into a local folder. Every deployment is a new `Target/releases/<id>`; it
/// goes live when `Target/current` is switched to it with one rename (atomic: a reader sees the old
/// release or the new one, never a missing or half-written one). Lifecycle, as CodeDeploy orders it:
/// ApplicationStop (the last successful release's scripts, not on a first deployment), BeforeInstall,
/// Install (files, permissions, the switch), AfterInstall, ApplicationStart, ValidateService. A
/// failed event rolls back automatically: a new deployment of the last successful release, hooks and
/// all, recorded as such in the ledger.
struct DirectoryDeploy: ActionProvider {
    static let name = "Directory"

    func describe(_ action: Action) -> String {
        "[git-pipeline] deploys \(action.inputArtifacts.first ?? "no input") with its appspec.yml, as CodeDeploy in-place would\n"
    }

    enum Kind: String { case deploy = "Deploy", automaticRollback = "AutomaticRollback", rollback = "Rollback" }

    struct Failure: Error {
        let event: String
        let message: String
    }

    func run(_ context: ActionContext) async throws -> ActionOutcome {
        switch try context.unpackInputs() {
        case .success: break
        case .failure(let outcome): return outcome
        }
        guard let input = context.action.inputArtifacts.first, let digest = context.availableArtifacts[input] else {
            return .failure("a Directory deploy needs an input artifact (the revision with its appspec.yml)")
        }
        let target = Self.target(context)
        let ledger = DeployLedger(store: context.store)
        try FileManager.default.createDirectory(atPath: target + "/releases", withIntermediateDirectories: true)
        // One deployment at a time per target, whatever the execution mode.
        let lock = open(target + "/.deploy.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o666)
        defer { if lock >= 0 { close(lock) } }
        context.log("[CodeDeploy] waiting for other deployments to \(target) to end")
        while lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) != 0 { try await Task.sleep(nanoseconds: 200_000_000) }

        // A ROLLBACK execution (by command or by onFailure) redeploys its target's revision.
        let kind: Kind = context.execution.rollbackTarget != nil ? .rollback : .deploy
        let deployment = try await deploy(context, bundle: context.workspace, digest: digest, revision: context.execution.sourceRevision,
                                          target: target, kind: kind, rolledBackFrom: nil, ledger: ledger)
        let keep = Int(context.action.configuration["KeepReleases"] ?? "") ?? 5
        // However the deployment ends (a failure, its automatic rollback), KeepReleases holds.
        defer { prune(target: target, keep: keep, ledger: ledger, context: context) }
        if deployment.status == "Succeeded" {
            let summary = "\(target): " + (try ledger.describe(target: target) ?? "deployed \(deployment.id)")
            context.log("[CodeDeploy] \(summary)")
            return ActionOutcome(succeeded: true, summary: summary)
        }
        let failure = "\(deployment.failedEvent ?? "deployment") failed: \(deployment.message ?? "")"
        guard let good = try ledger.lastSucceeded(target: target), good.id != deployment.id,
              (context.action.configuration["AutoRollback"] ?? "true").lowercased() != "false" else {
            return .failure("\(deployment.id) \(failure)")
        }
        // CodeDeploy's automatic rollback: redeploy the last successful revision as a new deployment.
        context.log("[CodeDeploy] \(deployment.id) failed; rolling back automatically to \(good.label)")
        let folder = context.workspace + ".rollback"
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try context.artifacts.verifiedZip(good.bundleDigest).extract(into: folder)
        let rollback = try await deploy(context, bundle: folder, digest: good.bundleDigest, revision: good.revision, target: target,
                                        kind: .automaticRollback, rolledBackFrom: deployment.id, ledger: ledger)
        let state = "\(target): " + (try ledger.describe(target: target) ?? "")
        context.log("[CodeDeploy] \(state)")
        var outcome = ActionOutcome.failure(rollback.status == "Succeeded"
            ? "\(deployment.id) \(failure); rolled back automatically: \(state)"
            : "\(deployment.id) \(failure); the automatic rollback \(rollback.id) failed too at \(rollback.failedEvent ?? "?"): \(rollback.message ?? "")")
        outcome.summary = state
        return outcome
    }

    /// `configuration.Target`, or a folder per application and deployment group in the state folder.
    static func target(_ context: ActionContext) -> String {
        if let target = context.action.configuration["Target"], !target.isEmpty {
            return target.hasPrefix("/") ? target : context.layout.gitDirectory + "/" + target
        }
        let application = context.action.configuration["ApplicationName"] ?? context.execution.pipeline
        let group = context.action.configuration["DeploymentGroupName"] ?? context.action.name
        return context.layout.root + "/deployments/\(application)/\(group)"
    }

    // MARK: One deployment

    func deploy(_ context: ActionContext, bundle: String, digest: String, revision: String, target: String, kind: Kind,
                rolledBackFrom: String?, ledger: DeployLedger) async throws -> DeploymentRecord {
        let id = "d-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(9).uppercased()
        let e = context.execution
        var record = DeploymentRecord(
            id: id, target: target, pipeline: e.pipeline, executionId: e.id, executionLabel: "\(e.pipeline)#\(e.number)",
            stageName: context.stage.name, actionName: context.action.name, revision: revision, bundleDigest: digest,
            releasePath: target + "/releases/" + id, kind: kind.rawValue, status: "InProgress",
            previousId: try ledger.live(target: target)?.id, rolledBackFrom: rolledBackFrom, failedEvent: nil, message: nil,
            startedAt: context.world.clock.now(), liveSince: nil, endedAt: nil)
        try ledger.save(record)
        context.log("[CodeDeploy] deployment \(id) (\(kind.rawValue)) of \(revision.prefix(7)) to \(target)")
        do {
            let appspec = try loadAppspec(bundle: bundle, context: context)
            // ApplicationStop runs the scripts of the last successful revision, from its own bundle.
            if let last = try ledger.lastSucceeded(target: target), let scripts = try previousScripts(last, context: context) {
                try await runHooks("ApplicationStop", appspec: scripts.appspec, bundle: scripts.bundle, id: id, context: context, release: last.releasePath)
            }
            try await runHooks("BeforeInstall", appspec: appspec, bundle: bundle, id: id, context: context, release: record.releasePath)
            context.log("[CodeDeploy] \(id) Install")
            try install(appspec, bundle: bundle, release: record.releasePath, context: context)
            try switchCurrent(target: target, release: id)
            record.liveSince = context.world.clock.now()
            try ledger.save(record)
            context.log("[CodeDeploy] \(id) is live: \(target)/current -> releases/\(id)")
            for event in ["AfterInstall", "ApplicationStart", "ValidateService"] {
                try await runHooks(event, appspec: appspec, bundle: bundle, id: id, context: context, release: record.releasePath)
            }
            record.status = "Succeeded"
        } catch let failure as Failure {
            record.status = "Failed"
            record.failedEvent = failure.event
            record.message = failure.message
            context.log("[CodeDeploy] \(id) failed at \(failure.event): \(failure.message)")
        }
        record.endedAt = context.world.clock.now()
        try ledger.save(record)
        return record
    }

    func loadAppspec(bundle: String, context: ActionContext) throws -> Appspec {
        let names = context.action.configuration["AppSpec"].map { [$0] } ?? ["appspec.yml", "appspec.yaml"]
        guard let name = names.first(where: { FileManager.default.fileExists(atPath: bundle + "/" + $0) }) else {
            throw Failure(event: "DownloadBundle", message: "no \(names.joined(separator: " or ")) at the top of the revision")
        }
        // An appspec that is a link out of the revision (to /etc/shadow, say) is not read.
        guard let path = Confinement.path(name, in: bundle, mustExist: true), let data = FileManager.default.contents(atPath: path) else {
            throw Failure(event: "DownloadBundle", message: "\(name) is a link out of the revision (or climbs out with ..); it is not read — commit the file itself")
        }
        do {
            let appspec = try AppspecParser.parse(String(decoding: data, as: UTF8.self), file: name)
            for warning in appspec.warnings { context.log("[CodeDeploy] \(warning)") }
            return appspec
        } catch {
            for diagnostic in error.diagnostics { context.log("[CodeDeploy] \(diagnostic)") }
            throw Failure(event: "DownloadBundle", message: "invalid \(name): \(error.diagnostics.first!)")
        }
    }

    /// The last successful deployment's bundle and appspec, unpacked again for its ApplicationStop.
    func previousScripts(_ last: DeploymentRecord, context: ActionContext) throws -> (appspec: Appspec, bundle: String)? {
        let folder = context.workspace + ".previous"
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        do {
            try context.artifacts.verifiedZip(last.bundleDigest).extract(into: folder)
            return (try loadAppspec(bundle: folder, context: context), folder)
        } catch {
            context.log("[CodeDeploy] ApplicationStop skipped: the revision of \(last.id) cannot be read (\(error))")
            return nil
        }
    }

    // MARK: Lifecycle events

    func runHooks(_ event: String, appspec: Appspec, bundle: String, id: String, context: ActionContext, release: String) async throws {
        guard let scripts = appspec.hooks[event], !scripts.isEmpty else { return }
        context.log("[CodeDeploy] \(id) \(event)")
        var environment = context.environment(sourceDirectory: bundle, secondaryInputs: [:])
        environment["LIFECYCLE_EVENT"] = event
        environment["DEPLOYMENT_ID"] = id
        environment["APPLICATION_NAME"] = context.action.configuration["ApplicationName"] ?? context.execution.pipeline
        environment["DEPLOYMENT_GROUP_NAME"] = context.action.configuration["DeploymentGroupName"] ?? context.action.name
        environment["DEPLOYMENT_GROUP_ID"] = environment["DEPLOYMENT_GROUP_NAME"]
        environment["PIPELINE_RELEASE_DIR"] = release
        // releases/<id> lives in the target.
        let target = ((release as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
        environment["PIPELINE_DEPLOY_TARGET"] = target
        let q = shellQuote
        for (index, script) in scripts.enumerated() {
            let path = bundle + "/" + script.location.drop { $0 == "/" }
            guard FileManager.default.fileExists(atPath: path) else {
                throw Failure(event: event, message: "script \(script.location) is not in the revision")
            }
            var run = FileManager.default.isExecutableFile(atPath: path) ? q(path) : "/bin/bash " + q(path)
            var capabilities: [String] = []
            if let user = script.runas, user != NSUserName() {
                if getuid() == 0 {
                    run = "runuser -u \(q(user)) -- " + run
                    capabilities = ["CAP_SETUID", "CAP_SETGID"]
                } else {
                    context.log("[CodeDeploy] runas \(user) needs root; \(script.location) runs as \(NSUserName())")
                }
            }
            context.log("[CodeDeploy] \(event) running \(script.location) (timeout \(script.timeoutSeconds)s)")
            let (exit, timedOut) = try await context.runScript("cd -- \(q(bundle)) || exit 97\n\(run)\n", named: "\(id).\(event).\(index).sh",
                                                                 environment: environment, timeoutSeconds: Double(script.timeoutSeconds),
                                                                 writable: [bundle, target], capabilities: capabilities)
            if timedOut { throw Failure(event: event, message: "\(script.location) timed out after \(script.timeoutSeconds)s") }
            guard exit.succeeded else { throw Failure(event: event, message: "\(script.location) ended with \(exit.description)") }
        }
    }

    // MARK: Install

    /// The release folder holds what `files` copies, below the destinations' common folder (one
    /// mapping: its destination is the release root).
    static func releaseRoot(_ files: [FileMapping]) -> [String] {
        let paths = files.map { $0.destination.split(separator: "/").map(String.init) }
        guard var common = paths.first else { return [] }
        for path in paths.dropFirst() {
            common = Array(zip(common, path).prefix { $0 == $1 }.map(\.0))
        }
        return common
    }

    func install(_ appspec: Appspec, bundle: String, release: String, context: ActionContext) throws {
        let fm = FileManager.default
        let staging = release + ".installing"
        try? fm.removeItem(atPath: staging)
        try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
        let root = Self.releaseRoot(appspec.files)
        func inRelease(_ destination: String) -> String {
            let parts = destination.split(separator: "/").map(String.init)
            return parts.dropFirst(root.count).joined(separator: "/")
        }
        for mapping in appspec.files {
            // The revision may hold links: what a source names must stay inside it on the disk too.
            guard let source = Confinement.path(mapping.source == "/" || mapping.source == "." ? "" : String(mapping.source.drop { $0 == "/" }),
                                                in: bundle, mustExist: true) else {
                throw Failure(event: "Install", message: "files.source \(mapping.source) is not in the revision (or is a link out of it)")
            }
            let destination = staging + "/" + inRelease(mapping.destination)
            // Nothing is written outside the target: an absolute destination lands in the release.
            context.log("[CodeDeploy] files: \(mapping.source) -> \(release)/\(inRelease(mapping.destination)) (appspec destination \(mapping.destination), live as current/\(inRelease(mapping.destination)))")
            var isFolder: ObjCBool = false
            guard fm.fileExists(atPath: source, isDirectory: &isFolder) else {
                throw Failure(event: "Install", message: "files.source \(mapping.source) is not in the revision")
            }
            if isFolder.boolValue {
                try copyTree(source, into: destination, behavior: appspec.fileExistsBehavior, context: context)
            } else {
                try fm.createDirectory(atPath: destination, withIntermediateDirectories: true)
                try copyFile(source, to: destination + "/" + (source as NSString).lastPathComponent, behavior: appspec.fileExistsBehavior)
            }
        }
        for permission in appspec.permissions { try apply(permission, release: staging, root: root, context: context) }
        try fm.moveItem(atPath: staging, toPath: release)
    }

    func copyTree(_ source: String, into destination: String, behavior: String, context: ActionContext) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: destination, withIntermediateDirectories: true)
        guard let walker = fm.enumerator(atPath: source) else { return }
        while let relative = walker.nextObject() as? String {
            let from = source + "/" + relative, to = destination + "/" + relative
            var info = stat()
            guard lstat(from, &info) == 0 else { continue }
            if info.st_mode & S_IFMT == S_IFDIR {
                try fm.createDirectory(atPath: to, withIntermediateDirectories: true)
                chmod(to, info.st_mode & 0o7777)
            } else {
                try copyFile(from, to: to, behavior: behavior)
            }
        }
    }

    /// file_exists_behavior: DISALLOW fails, OVERWRITE replaces, RETAIN keeps what is there. (Each
    /// release starts empty, so only overlapping `files` entries meet a file already there.)
    func copyFile(_ from: String, to: String, behavior: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: to) {
            switch behavior {
            case "OVERWRITE": try fm.removeItem(atPath: to)
            case "RETAIN": return
            default: throw Failure(event: "Install", message: "\(to) already exists (file_exists_behavior DISALLOW)")
            }
        }
        try fm.copyItem(atPath: from, toPath: to)
    }

    func apply(_ permission: Permission, release: String, root: [String], context: ActionContext) throws {
        let parts = permission.object.split(separator: "/").map(String.init)
        guard parts.starts(with: root) else {
            context.log("[CodeDeploy] permissions for \(permission.object) skipped: it is outside the deployed files")
            return
        }
        let object = ([release] + parts.dropFirst(root.count)).joined(separator: "/")
        let pattern = Glob(permission.pattern == "**" ? "**" : permission.pattern)
        let excepts = permission.except.map { Glob($0) }
        let mode = permission.mode.flatMap { mode_t($0, radix: 8) }
        let uid = permission.owner.flatMap { getpwnam($0)?.pointee.pw_uid }
        let gid = permission.group.flatMap { getgrnam($0)?.pointee.gr_gid }
        if (permission.owner != nil || permission.group != nil) && getuid() != 0 {
            context.log("[CodeDeploy] owner/group in permissions need root; \(permission.object) keeps \(NSUserName())'s ownership")
        }
        guard let walker = FileManager.default.enumerator(atPath: object) else { return }
        while let relative = walker.nextObject() as? String {
            guard pattern.matches(relative), !excepts.contains(where: { $0.matches(relative) }) else { continue }
            let path = object + "/" + relative
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT != S_IFLNK else { continue }
            let isFolder = info.st_mode & S_IFMT == S_IFDIR
            if !permission.types.isEmpty && !permission.types.contains(isFolder ? "directory" : "file") { continue }
            if let mode { chmod(path, mode) }
            if getuid() == 0 && (uid != nil || gid != nil) { chown(path, uid ?? info.st_uid, gid ?? info.st_gid) }
        }
    }

    /// `current` → `releases/<id>` by renaming a new link over it: readers see one or the other.
    func switchCurrent(target: String, release id: String) throws {
        let temporary = target + "/.current-" + id
        unlink(temporary)
        guard symlink("releases/" + id, temporary) == 0 else {
            throw Failure(event: "Install", message: "cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, target + "/current") == 0 else {
            unlink(temporary)
            throw Failure(event: "Install", message: "cannot switch \(target)/current: \(String(cString: strerror(errno)))")
        }
    }

    /// Removes release folders beyond the newest `keep` (configuration.KeepReleases); the live one
    /// and the last successful one always stay. A deployment that failed before Install has no folder
    /// and does not count.
    func prune(target: String, keep: Int, ledger: DeployLedger, context: ActionContext) {
        guard let ids = try? ledger.deploymentIds(target: target) else { return }
        let newestFirst = ids.filter { FileManager.default.fileExists(atPath: target + "/releases/" + $0) }
        let protected = Set([try? ledger.live(target: target)?.id, try? ledger.lastSucceeded(target: target)?.id].compactMap { $0 ?? nil })
        for id in newestFirst.dropFirst(max(1, keep)) where !protected.contains(id) {
            let folder = target + "/releases/" + id
            if (try? FileManager.default.removeItem(atPath: folder)) != nil {
                context.log("[CodeDeploy] removed old release \(id) (KeepReleases \(keep))")
            }
        }
    }
}
