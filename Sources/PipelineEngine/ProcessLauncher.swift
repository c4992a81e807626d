import Foundation

/// How a child process ended.
public enum ProcessExit: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32)

    public var succeeded: Bool { self == .exited(0) }
    public var description: String {
        switch self {
        case .exited(let code): "exit status \(code)"
        case .signaled(let signal): "killed by signal \(signal)"
        }
    }
}

public struct LaunchError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Starts processes with posix_spawn, each in a process group of its own so that stop and timeout
/// reach every process an action started (laminar's rule), with stdin from /dev/null and output
/// into a log file. (posix_spawn cannot change directory portably: scripts `cd` themselves.)
public enum ProcessLauncher {
    public struct Spec {
        public var executable: String
        public var arguments: [String]
        public var environment: [String: String]
        /// Output (stdout and stderr) is appended here; nil: /dev/null.
        public var logPath: String?
        /// A new session instead of only a new process group (for the detached runner).
        public var newSession = false

        public init(executable: String, arguments: [String], environment: [String: String], logPath: String? = nil) {
            self.executable = executable
            self.arguments = arguments
            self.environment = environment
            self.logPath = logPath
        }
    }

    private static let spawnLock = NSLock()

    /// Marks every descriptor above stderr close-on-exec, so a child holds nothing of ours: a pipe
    /// git gave the hook, kept open by the runner, would make `git push` wait for the runner.
    private static func closeInheritedDescriptors() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for name in names {
            guard let fd = Int32(name), fd > 2 else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    /// Spawns the process and returns its pid, which is also its process group id.
    public static func spawn(_ spec: Spec) throws -> pid_t {
        spawnLock.lock()
        defer { spawnLock.unlock() }
        closeInheritedDescriptors()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let output = spec.logPath ?? "/dev/null"
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags = Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        flags |= spec.newSession ? Int16(0x80) /* POSIX_SPAWN_SETSID */ : Int16(POSIX_SPAWN_SETPGROUP)
        posix_spawnattr_setflags(&attributes, flags)
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let argv = ([spec.executable] + spec.arguments).map { strdup($0) } + [nil]
        let envp = spec.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, spec.executable, &actions, &attributes, argv, envp)
        guard code == 0 else {
            throw LaunchError(message: "cannot start \(spec.executable): \(String(cString: strerror(code)))")
        }
        return pid
    }

    /// Waits for `pid` without blocking the caller's thread.
    public static func wait(_ pid: pid_t) async -> ProcessExit {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                let low = status & 0x7f
                continuation.resume(returning: low == 0 ? .exited((status >> 8) & 0xff) : .signaled(low))
            }
        }
    }

    /// TERM to the whole group, then KILL after `grace` seconds if any member is still there.
    public static func terminateGroup(_ group: pid_t, grace: Double) {
        guard group > 1 else { return }
        kill(-group, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline {
            if kill(-group, 0) != 0 { return }
            usleep(50_000)
        }
        kill(-group, SIGKILL)
    }

    /// True when some process of the group is still alive.
    public static func groupAlive(_ group: pid_t) -> Bool { group > 1 && kill(-group, 0) == 0 }

    /// The environment for children: ours without the variables git sets for hooks, which would
    /// point an action's own git commands at the server's repository.
    public static func cleanEnvironment(_ base: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        base.filter { !$0.key.hasPrefix("GIT_") }
    }

    /// The absolute path of the running executable.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
