import Foundation
import HookClient
import PipelineHook

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

        public init(executable: String, arguments: [String], environment: [String: String], logPath: String? = nil) {
            self.executable = executable
            self.arguments = arguments
            self.environment = environment
            self.logPath = logPath
        }
    }

    /// Spawns the process and returns its pid, which is also its process group id.
    public static func spawn(_ spec: Spec) throws -> pid_t {
        try Spawn.spawn(spec.executable, spec.arguments, environment: spec.environment, logPath: spec.logPath, newSession: false)
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

    /// The environment for children, without git's hook variables (see Spawn.cleanEnvironment).
    public static func cleanEnvironment() -> [String: String] { Spawn.cleanEnvironment() }

    /// The absolute path of the running executable.
    public static var currentExecutable: String { HookClient.currentExecutablePath() }
}
