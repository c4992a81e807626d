import Foundation
import GRDB
import HookClient
import Git

/// install, uninstall and doctor (SPEC §2).
public struct Installer {
    /// The hooks install writes: pre-receive journals pushes before the refs move (and guards the
    /// notes refs), post-receive marks them done and hands them to the runner.
    public static let hooks = HookWire.hooks
    public static let chainedSuffix = ".pre-pipeline"

    public let gitDirectory: String
    public let executable: String

    public init(gitDirectory: String, executable: String) {
        self.gitDirectory = gitDirectory
        self.executable = executable
    }

    /// The hooks folder git uses for this repository: core.hooksPath (relative to the repository
    /// for a bare one, as git runs hooks there) or `hooks/`.
    public static func hooksDirectory(_ repository: Repository) throws -> String {
        guard let configured = try repository.configString("core.hooksPath"), !configured.isEmpty else {
            return repository.gitDirectory + "/hooks"
        }
        var path = configured
        if path.hasPrefix("~/") { path = NSHomeDirectory() + path.dropFirst(1) }
        return path.hasPrefix("/") ? path : repository.gitDirectory + "/" + path
    }

    static func shimTemplate(_ hook: String) -> String {
        String(decoding: hook == "pre-receive" ? PackageResources.pre_receive : PackageResources.post_receive, as: UTF8.self)
    }

    static func marker(_ hook: String) -> String { "git-pipeline \(hook) shim" }

    /// The hook binary's name: `install` links the hooks to it.
    static let hookBinaryName = "git-pipeline-hook"

    /// Where a hook that is a link points; nil for a file.
    static func linkTarget(_ path: String) -> String? { try? FileManager.default.destinationOfSymbolicLink(atPath: path) }

    /// Ours: a link to `git-pipeline-hook`, or a shim with our marker.
    static func isOurs(_ path: String, hook: String) -> Bool {
        if let target = linkTarget(path) { return (target as NSString).lastPathComponent == hookBinaryName }
        return (try? String(contentsOfFile: path, encoding: .utf8))?.contains(marker(hook)) ?? false
    }

    /// Installs (idempotent): the shims, the state folder and store, config defaults. Returns what it did.
    public func install() throws -> [String] {
        let repository = try Repository(path: gitDirectory)
        var done: [String] = []
        if !repository.isBare { done.append("note: \(repository.gitDirectory) is not bare; pipelines run on pushes to it all the same") }
        let folder = try Self.hooksDirectory(repository)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let hookBinary = (executable as NSString).deletingLastPathComponent + "/" + Self.hookBinaryName
        guard FileManager.default.isExecutableFile(atPath: hookBinary) else {
            throw OperationError(message: "\(hookBinary) is missing: install git-pipeline-hook beside git-pipeline (make release builds both)")
        }
        for name in Self.hooks {
            let hook = folder + "/" + name
            let chained = hook + Self.chainedSuffix
            if FileManager.default.fileExists(atPath: hook) && !Self.isOurs(hook, hook: name) {
                guard !FileManager.default.fileExists(atPath: chained) else {
                    throw OperationError(message: "\(hook) exists and so does \(chained); move one of them away and install again")
                }
                guard rename(hook, chained) == 0 else { throw OperationError(message: "cannot move \(hook) to \(chained): \(String(cString: strerror(errno)))") }
                done.append("kept the existing \(name) hook as \(chained); it still runs after git-pipeline's")
            }
            if FileManager.default.isExecutableFile(atPath: chained) {
                // A shell shim runs ours, then the earlier hook.
                let shim = Self.shimTemplate(name)
                    .replacingOccurrences(of: "@GIT_PIPELINE_HOOK@", with: hookBinary.replacingOccurrences(of: "'", with: "'\\''"))
                    .replacingOccurrences(of: "@CHAINED@", with: chained.replacingOccurrences(of: "'", with: "'\\''"))
                try writeAtomically(hook, shim)
                chmod(hook, 0o755)
                done.append("wrote \(hook) (runs \(hookBinary), then \(chained))")
            } else {
                // Alone, the hook is a link to the binary: git runs it directly, no shell before it
                // (half a millisecond a hook).
                try linkAtomically(hook, to: hookBinary)
                done.append("linked \(hook) to \(hookBinary)")
            }
        }

        let layout = StateLayout(gitDirectory: repository.gitDirectory)
        let shared = SharedRepository.of(repository)
        if let shared { umask(shared.umask) }
        try layout.create(shared: shared)
        _ = try Store(path: layout.database)
        if let shared, let group = SharedRepository.group(of: repository.gitDirectory) {
            // State made before the repository was shared (or by another user's umask) joins it.
            let failed = shared.adopt(layout.root, group: group)
            let name = getgrgid(group).map { String(cString: $0.pointee.gr_name) } ?? "\(group)"
            done.append("state in \(layout.root) (shared with group \(name): folders \(String(shared.stateDirectoryMode, radix: 8)), " +
                        "files \(String(shared.stateFileMode, radix: 8)); SQLite in WAL mode)")
            if !failed.isEmpty {
                done.append("could not give \(failed.count) file\(failed.count == 1 ? "" : "s") to group \(name) (e.g. \(failed[0])); run as their owner or root: " +
                            "chgrp -R \(name) \(layout.root) && chmod -R g+rwX \(layout.root)")
            }
        } else {
            done.append("state in \(layout.root) (mode 0700, SQLite in WAL mode)")
        }
        let settings = try PipelineSettings(repository: repository)
        if try repository.configString("pipeline.notesRef") == nil { try repository.setConfig("pipeline.notesRef", settings.notesRef) }
        // `git log` on the server shows our notes: the ref pipeline.notesRef names. One we set before
        // (the default, or a notes ref the settings have moved away from) follows the setting.
        let display = try repository.configString("notes.displayRef")
        let setBefore = try repository.configString("pipeline.displayRefSet")
        if display == nil || (display != settings.notesRef && (display == "refs/notes/ci" || display == setBefore)) {
            try repository.setConfig("notes.displayRef", settings.notesRef)
            try repository.setConfig("pipeline.displayRefSet", settings.notesRef)
        }
        // `git push -o ci.skip` and the other ci.* options need git to offer push options.
        if try repository.configString("receive.advertisePushOptions") == nil {
            try repository.setConfig("receive.advertisePushOptions", "true")
            try repository.setConfig("pipeline.pushOptionsSet", "true")
        }
        done.append("notes in \(settings.notesRef); read them with git log --notes=\(settings.notesName)")
        return done
    }

    /// Removes the shim (restoring a chained hook) and the config; the state only with `purge`.
    public func uninstall(purge: Bool) throws -> [String] {
        let repository = try Repository(path: gitDirectory)
        var done: [String] = []
        let folder = try Self.hooksDirectory(repository)
        for name in Self.hooks {
            let hook = folder + "/" + name
            guard Self.isOurs(hook, hook: name) else { continue }
            unlink(hook)
            done.append("removed \(hook)")
            if FileManager.default.fileExists(atPath: hook + Self.chainedSuffix) {
                rename(hook + Self.chainedSuffix, hook)
                done.append("restored the earlier \(name) hook")
            }
        }
        // notes.displayRef goes too when it is the one install set.
        if let set = try repository.configString("pipeline.displayRefSet"), try repository.configString("notes.displayRef") == set {
            try repository.unsetConfig("notes.displayRef")
        }
        if try repository.configString("pipeline.pushOptionsSet") != nil { try repository.unsetConfig("receive.advertisePushOptions") }
        for name in ["pipeline.notesRef", "pipeline.runnerIdleSeconds", "pipeline.killGraceSeconds", "pipeline.displayRefSet", "pipeline.pushOptionsSet"] {
            try repository.unsetConfig(name)
        }
        let layout = StateLayout(gitDirectory: repository.gitDirectory)
        if purge {
            try? FileManager.default.removeItem(atPath: layout.root)
            done.append("removed \(layout.root)")
        } else if FileManager.default.fileExists(atPath: layout.root) {
            done.append("kept the history in \(layout.root) (use --purge to remove it)")
        }
        return done
    }

    /// What the user running doctor cannot write, though a pusher must: each with the path, who
    /// owns it, and the command that fixes it.
    func permissionProblems(layout: StateLayout, repository: Repository, shared: SharedRepository?) -> [String] {
        let user = Identity.systemUser()
        var paths = [layout.root, layout.database, layout.database + "-wal", layout.database + "-shm", layout.root + "/" + PushJournal.name,
                     layout.runnerLock, layout.root + "/" + HookWire.changeSignalName, layout.root + "/" + HookWire.runnerWakeName, layout.logs, layout.artifacts, layout.artifacts + "/sha256", layout.work]
        if shared != nil { paths.append(repository.gitDirectory + "/objects") }
        var problems: [String] = []
        for path in paths {
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            let folder = (info.st_mode & S_IFMT) == S_IFDIR
            guard access(path, R_OK | W_OK | (folder ? X_OK : 0)) != 0 else { continue }
            let owner = getpwuid(info.st_uid).map { String(cString: $0.pointee.pw_name) } ?? "\(info.st_uid)"
            let group = getgrgid(info.st_gid).map { String(cString: $0.pointee.gr_name) } ?? "\(info.st_gid)"
            let repositoryGroup = SharedRepository.group(of: repository.gitDirectory).flatMap { getgrgid($0) }.map { String(cString: $0.pointee.gr_name) } ?? group
            let fix = shared == nil
                ? "run git-pipeline as \(owner) (or a service for everyone), or share the repository: git config core.sharedRepository group && git pipeline install"
                : "as \(owner) or root: chgrp -R \(repositoryGroup) \(path) && chmod -R g+rwX \(path)" + (folder ? " && find \(path) -type d -exec chmod g+s {} +" : "")
            problems.append("\(path) is not writable by \(user) (owner \(owner), group \(group), mode \(String(info.st_mode & 0o7777, radix: 8))) — \(fix)")
        }
        // A folder of objects its group cannot write fails the next push of anyone else in it.
        if shared != nil {
            let objects = repository.gitDirectory + "/objects"
            let closed = ((try? FileManager.default.contentsOfDirectory(atPath: objects)) ?? []).filter { name in
                var info = stat()
                return stat(objects + "/" + name, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR && info.st_mode & 0o070 != 0o070
            }
            if let first = closed.first {
                problems.append("\(closed.count) folder\(closed.count == 1 ? "" : "s") of \(objects) (e.g. \(first)) are not group-writable: the next push of another user " +
                                "that writes there fails — as their owner or root: chmod -R g+rwX \(objects) && find \(objects) -type d -exec chmod g+s {} +")
            }
        }
        return problems
    }

    /// Checks an installation; each finding says what is wrong and how to fix it.
    public func doctor() async -> (ok: [String], problems: [String]) {
        var (ok, problems) = checkInstallation()
        guard let repository = try? Repository(path: gitDirectory), let settings = try? PipelineSettings(repository: repository) else { return (ok, problems) }
        let layout = StateLayout(gitDirectory: repository.gitDirectory)
        // Notifications: the rules, and deliveries that gave up.
        if let rules = try? repository.configSnapshot(), let found = try? NotificationRule.rules(rules), !found.isEmpty {
            ok.append("notifications: \(found.count) rule\(found.count == 1 ? "" : "s") (\(found.map(\.name).joined(separator: ", ")))")
        }
        if layout.isInstalled, let store = try? Store(path: layout.database),
           let failed = try? store.read({ db in try Row.fetchAll(db, sql: "SELECT rule, target, lastError FROM deliveries WHERE status = 'Failed' ORDER BY id DESC LIMIT 100") }),
           let last = failed.first {
            let target = last["target"] as String
            let shown = target.hasPrefix("command:") ? target : (target.prefix { $0 != ":" } + " " + HTTPPost.redacted(String(target.drop { $0 != ":" }.dropFirst())))
            problems.append("\(failed.count == 100 ? "100 or more" : String(failed.count)) notification\(failed.count == 1 ? "" : "s") could not be delivered; " +
                            "the last, of rule \(last["rule"] as String) to \(shown): \(last["lastError"] as String? ?? "?") — check the target, " +
                            "then runner.log (deliveries are tried \(Notifier.maxAttempts) times)")
        }
        guard settings.sandbox else {
            ok.append("sandbox: OFF (pipeline.sandbox=false): actions run with the runner's access to this server, and every note says so — " +
                      "`git config --unset pipeline.sandbox` turns it back on")
            return (ok, problems)
        }
        let sandbox = ActionSandbox.forRepository(layout.gitDirectory, stateFolder: layout.root, home: ProcessInfo.processInfo.environment["HOME"],
                                                  path: ProcessInfo.processInfo.environment["PATH"], readable: settings.sandboxReadable,
                                                  writable: [], network: true)
        switch await sandbox.probe() {
        case .success(let milliseconds):
            ok.append("sandbox: bubblewrap works; an action's sandbox starts in \(String(format: "%.1f", milliseconds)) ms")
        case .failure(let error):
            problems.append("the sandbox cannot run here (\(error.message)) — install bubblewrap (`apt-get install bubblewrap`); a service user " +
                            "that is not root needs unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1); else `git config pipeline.sandbox false`")
        }
        return (ok, problems)
    }

    /// Makes `path` a link to `target`, replacing what was there in one rename.
    func linkAtomically(_ path: String, to target: String) throws {
        let temporary = path + ".tmp.\(getpid())"
        unlink(temporary)
        guard symlink(target, temporary) == 0, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw OperationError(message: "cannot link \(path) to \(target): \(reason)")
        }
    }

    func checkInstallation() -> (ok: [String], problems: [String]) {
        var ok: [String] = [], problems: [String] = []
        let repository: Repository
        do { repository = try Repository(path: gitDirectory) } catch {
            return ([], ["\(gitDirectory) is not a git repository (\(error)); give the path of a bare repository"])
        }
        let folder = (try? Self.hooksDirectory(repository)) ?? repository.gitDirectory + "/hooks"
        for name in Self.hooks {
            let hook = folder + "/" + name
            let link = Self.linkTarget(hook)
            if link == nil && !FileManager.default.fileExists(atPath: hook) {
                problems.append("no \(name) hook at \(hook) — run `git pipeline install \(repository.gitDirectory)`")
            } else if !Self.isOurs(hook, hook: name) {
                problems.append("\(hook) is not git-pipeline's — run `git pipeline install` (it keeps the existing hook and chains it)")
            } else {
                if link == nil && !FileManager.default.isExecutableFile(atPath: hook) { problems.append("\(hook) is not executable — chmod +x it") }
                let text = link == nil ? (try? String(contentsOfFile: hook, encoding: .utf8)) ?? "" : ""
                let shimmed = text.split(separator: "\n").first { $0.hasPrefix("GIT_PIPELINE_HOOK=") }.map { String($0.dropFirst("GIT_PIPELINE_HOOK='".count).dropLast()) }
                if let path = link ?? shimmed {
                    let full = (path as NSString).deletingLastPathComponent + "/git-pipeline"
                    if FileManager.default.isExecutableFile(atPath: String(path)) && FileManager.default.isExecutableFile(atPath: full) {
                        ok.append("hook \(hook) runs \(path)")
                    } else {
                        problems.append("the hook runs \(path), which (or git-pipeline beside it) is missing — run `git pipeline install` again from the new binary")
                    }
                }
            }
        }
        let layout = StateLayout(gitDirectory: repository.gitDirectory)
        var info = stat()
        if stat(layout.root, &info) != 0 {
            problems.append("no state folder \(layout.root) — run `git pipeline install`")
            return (ok, problems)
        }
        let shared = SharedRepository.of(repository)
        if info.st_mode & 0o007 != 0 {
            problems.append("\(layout.root) is open to every user of the machine — chmod o-rwx \(layout.root)")
        } else if shared == nil && info.st_mode & 0o070 != 0 {
            problems.append("\(layout.root) is open to its group but the repository is not shared — chmod 700 \(layout.root), or share it: " +
                            "git config core.sharedRepository group && git pipeline install")
        } else {
            ok.append("state folder \(layout.root) is \(shared == nil ? "private (0700)" : "the repository group's")")
        }
        problems += permissionProblems(layout: layout, repository: repository, shared: shared)
        do {
            let store = try Store(path: layout.database)
            let check = try store.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") }
            let mode = try store.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
            if check == "ok" { ok.append("store \(layout.database): integrity ok, journal \(mode ?? "?")") } else {
                problems.append("store integrity check failed: \(check ?? "?") — restore \(layout.database) from a backup")
            }
            let stuck = try store.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM executions WHERE status IN ('InProgress', 'Stopping') AND claimedBy IS NOT NULL") } ?? 0
            let waiting = try store.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM executions WHERE status IN ('InProgress', 'Stopping') AND claimedBy IS NULL") } ?? 0
            let running = Runner.isRunning(layout)
            func executions(_ count: Int) -> String { "\(count) execution\(count == 1 ? "" : "s")" }
            ok.append("runner: \(running ? "running" : "not running") — \(executions(stuck)) in progress, \(waiting) waiting")
            if !running && stuck > 0 {
                problems.append("\(executions(stuck)) \(stuck == 1 ? "was" : "were") in progress under a runner that is gone — " +
                                "run `git pipeline runner` (it recovers \(stuck == 1 ? "it" : "them"))")
            }
            if !running && waiting > 0 {
                problems.append("\(executions(waiting)) \(waiting == 1 ? "is" : "are") waiting and no runner is running — run `git pipeline runner`")
            }
        } catch {
            problems.append("cannot open the store \(layout.database): \(error)")
        }
        return (ok, problems)
    }
}
