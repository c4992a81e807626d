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

    /// TERM to the whole group, then KILL after `grace` seconds if any member is still running.
    public static func terminateGroup(_ group: pid_t, grace: Double) {
        guard group > 1 else { return }
        kill(-group, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline {
            if !groupAlive(group) { return }
            usleep(50_000)
        }
        kill(-group, SIGKILL)
    }

    /// True when some process of the group is still running. Zombies do not count: `kill(-group, 0)`
    /// would, and an orphan waits as a zombie until an init that reaps late gets to it.
    public static func groupAlive(_ group: pid_t) -> Bool {
        guard group > 1, kill(-group, 0) == 0 else { return false }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return true }
        for entry in entries where entry.first?.isNumber == true {
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // After "pid (comm)": state, ppid, pgrp, ...
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 2, fields[0] != "Z", Int32(fields[2]) == group { return true }
        }
        return false
    }

    /// True when the process exists and is not a zombie.
    public static func isRunning(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    /// The environment for children, without git's hook variables (see Spawn.cleanEnvironment).
    public static func cleanEnvironment() -> [String: String] { Spawn.cleanEnvironment() }

    /// The absolute path of the running executable.
    public static var currentExecutable: String { HookClient.currentExecutablePath() }
}
