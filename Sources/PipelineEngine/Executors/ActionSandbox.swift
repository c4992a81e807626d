import Foundation

/// Where an action's processes run (issue 11): inside bubblewrap, the host read-only, the action's
/// own folders writable, the repository and its neighbours, the service user's home and every /tmp
/// hidden, no capabilities, its own pid namespace (every process dies with the action), its own
/// session, and only the environment we built. Or, with `pipeline.sandbox=false`, on the host as
/// the runner's user, in a cgroup of its own when the machine gives one (ProcessContainment).
public struct ActionSandbox: Sendable, Equatable {
    /// Folders the action may write, bound at their own paths (created when missing).
    public var writable: [String]
    /// Folders the action may read though they are hidden (bound read-only at their own paths).
    public var readable: [String] = []
    /// Folders replaced by an empty private tmpfs: the repository's neighbours, homes.
    public var hidden: [String]
    /// Folders inside `readable` ones hidden in turn: the repository's state (store, secrets,
    /// artifacts, other executions' workspaces and logs).
    public var hiddenInside: [String] = []
    /// False: a network namespace of its own with only a loopback (`Network: none`).
    public var network: Bool
    /// Capabilities kept (all others dropped): CAP_SETUID and CAP_SETGID for an appspec hook's
    /// `runas`, which switches user inside.
    public var capabilities: [String] = []

    public init(writable: [String], readable: [String] = [], hidden: [String], hiddenInside: [String] = [], network: Bool) {
        self.writable = writable
        self.readable = readable
        self.hidden = hidden
        self.hiddenInside = hiddenInside
        self.network = network
    }

    /// The sandbox of an action of the repository at `gitDirectory`: the repository readable
    /// (`git clone $PIPELINE_REPOSITORY` works), its state folder hidden, and `writable` bound.
    /// Toolchains on the runner's PATH that live in a hidden folder (`~/.pyenv/shims`, `~/.cargo/bin`)
    /// stay readable: their top folder below the hidden one (`~/.pyenv`) is bound read-only, as is
    /// every folder of `pipeline.sandboxReadable` (`~/.rustup`, which cargo's proxies need).
    public static func forRepository(_ gitDirectory: String, stateFolder: String, home: String?, path: String?,
                                     readable extra: [String] = [], writable: [String], network: Bool) -> ActionSandbox {
        let hidden = hiddenFolders(gitDirectory: gitDirectory, home: home)
        // A PATH entry under a hidden folder shows the folder just below it: ~/.pyenv for ~/.pyenv/shims.
        let toolchains = (path ?? "").split(separator: ":").map { standardized(String($0)) }.compactMap { entry -> String? in
            guard let cover = hidden.first(where: { entry != $0 && isInside(entry, $0) }),
                  let top = entry.dropFirst(cover.count + 1).split(separator: "/").first else { return nil }
            return cover + "/" + top
        }
        var readable: [String] = []
        for folder in toolchains + extra.map(standardized) where folder.hasPrefix("/") && folder != gitDirectory
            && !readable.contains(folder) && FileManager.default.fileExists(atPath: folder) {
            readable.append(folder)
        }
        // The repository last: a folder bound before it cannot cover it.
        return ActionSandbox(writable: writable, readable: readable + [gitDirectory], hidden: hidden,
                             hiddenInside: [stateFolder], network: network)
    }

    /// True when `path` is `folder` or below it, by whole components.
    static func isInside(_ path: String, _ folder: String) -> Bool {
        path == folder || path.hasPrefix(folder.hasSuffix("/") ? folder : folder + "/")
    }

    static func standardized(_ path: String) -> String { (path as NSString).standardizingPath }

    /// The bwrap program, or nil when bubblewrap is not installed.
    public static var program: String? {
        for folder in ["/usr/bin", "/usr/local/bin", "/bin"] where access(folder + "/bwrap", X_OK) == 0 { return folder + "/bwrap" }
        return nil
    }

    /// What an action's sandbox hides around the repository at `gitDirectory`: the folder that
    /// holds it (the server's other repositories), the service user's home (its keys), /root and
    /// /home. System folders are never hidden.
    public static func hiddenFolders(gitDirectory: String, home: String?) -> [String] {
        let system: Set<String> = ["/", "/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64", "/opt", "/var", "/proc", "/dev", "/sys", "/run", "/tmp"]
        var folders: [String] = []
        func add(_ path: String?) {
            guard let path, !path.isEmpty, path.hasPrefix("/") else { return }
            let clean = standardized(path)
            guard !system.contains(clean), !folders.contains(clean), FileManager.default.fileExists(atPath: clean) else { return }
            folders.append(clean)
        }
        add("/root")
        add("/home")
        add(home)
        add((gitDirectory as NSString).deletingLastPathComponent)
        // A parent hidden first, its children after: bwrap mounts in order, a child's tmpfs over a
        // parent's would otherwise be covered.
        return folders.sorted { $0.split(separator: "/").count < $1.split(separator: "/").count }
    }

    /// bwrap's arguments that run `executable arguments` in this sandbox. The environment is not on
    /// the command line (where `ps` would show its secrets): bwrap passes its own on, which the
    /// launcher builds from scratch.
    public func arguments(executable: String, _ commandArguments: [String]) -> [String] {
        var args = ["--cap-drop", "ALL"] + capabilities.flatMap { ["--cap-add", $0] } + ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                    "--tmpfs", "/tmp", "--tmpfs", "/var/tmp", "--tmpfs", "/run", "--tmpfs", "/dev/shm"]
        for folder in hidden { args += ["--tmpfs", folder] }
        for folder in readable { args += ["--ro-bind", folder, folder] }
        for folder in hiddenInside { args += ["--tmpfs", folder] }
        for folder in writable { args += ["--bind", folder, folder] }
        for file in Self.rootOnlyFiles() { args += ["--ro-bind", "/dev/null", file] }
        if !network { args.append("--unshare-net") }
        args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "git-pipeline",
                 "--die-with-parent", "--new-session"]
        return args + ["--", executable] + commandArguments
    }
}

extension ActionSandbox {
    /// Files only root may read, emptied in the sandbox of a runner that runs as root: its actions
    /// run as uid 0 (without capabilities), which still owns them. A service user (`User=git`)
    /// cannot read them in the first place.
    static func rootOnlyFiles() -> [String] {
        guard getuid() == 0 else { return [] }
        var files = ["/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers", "/etc/munge/munge.key"]
        if let keys = try? FileManager.default.contentsOfDirectory(atPath: "/etc/ssh") {
            files += keys.filter { $0.hasPrefix("ssh_host_") && $0.hasSuffix("_key") }.map { "/etc/ssh/" + $0 }
        }
        return files.filter { FileManager.default.fileExists(atPath: $0) }
    }

    /// The only variables of the runner's own environment a sandboxed action starts from: where
    /// programs are, the locale and the time zone, who it runs as. HOME is an empty private tmpfs.
    public static func baseEnvironment(_ runner: [String: String]) -> [String: String] {
        var env: [String: String] = ["PATH": runner["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SHELL": "/bin/bash"]
        for name in ["LANG", "LC_ALL", "LC_CTYPE", "TZ", "HOME", "USER", "LOGNAME"] { env[name] = runner[name] }
        return env
    }
}

extension ActionSandbox {
    /// Starts this sandbox around `/bin/true` `times` times; the median start-to-exit time in
    /// milliseconds, or bwrap's own complaint when it cannot run here. For `doctor` and `make bench`.
    public func probe(times: Int = 15) async -> Result<Double, LaunchError> {
        guard let bwrap = Self.program else { return .failure(LaunchError(message: "bubblewrap (bwrap) is not installed")) }
        let log = NSTemporaryDirectory() + "git-pipeline-sandbox-probe-\(getpid()).log"
        defer { unlink(log) }
        var samples: [Double] = []
        for _ in 0..<max(1, times) {
            let start = Date()
            let spec = ProcessLauncher.Spec(executable: bwrap, arguments: arguments(executable: "/bin/true", []),
                                            environment: Self.baseEnvironment(ProcessInfo.processInfo.environment), logPath: log)
            guard let pid = try? ProcessLauncher.spawn(spec) else { return .failure(LaunchError(message: "cannot start \(bwrap)")) }
            let exit = await ProcessLauncher.wait(pid)
            guard exit.succeeded else {
                let said = (try? String(contentsOfFile: log, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                return .failure(LaunchError(message: "bwrap ended with \(exit.description)" + (said.isEmpty ? "" : ": \(said)")))
            }
            samples.append(Date().timeIntervalSince(start) * 1000)
        }
        return .success(samples.sorted()[samples.count / 2])
    }
}
