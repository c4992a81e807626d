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

/// Starts the processes of actions and waits for them: injected (World.launcher), so the runner's
/// logic can be tested without processes.
public protocol Launcher: Sendable {
    /// Spawns the process in a process group of its own; with values to mask, its output reaches
    /// the log through an OutputPump.
    func start(_ spec: ProcessLauncher.Spec) throws -> (pid: pid_t, pump: OutputPump?)
    /// Waits for the process, stopping its group at the timeout. True when it timed out.
    func wait(pid: pid_t, timeout: Double, grace: Double) async -> (ProcessExit, Bool)
}

/// Starts processes with posix_spawn, each in a process group of its own so that stop and timeout
/// reach every process an action started (laminar's rule), with stdin from /dev/null and output
/// into a log file. (posix_spawn cannot change directory portably: scripts `cd` themselves.)
public struct ProcessLauncher: Launcher {
    public init() {}

    public func start(_ spec: Spec) throws -> (pid: pid_t, pump: OutputPump?) { try Self.spawnMasked(spec) }

    public func wait(pid: pid_t, timeout: Double, grace: Double) async -> (ProcessExit, Bool) {
        await Self.wait(pid: pid, timeout: timeout, grace: grace)
    }

    public struct Spec: Sendable {
        public var executable: String
        public var arguments: [String]
        public var environment: [String: String]
        /// Output (stdout and stderr) is appended here; nil: /dev/null.
        public var logPath: String?
        /// Values replaced by `***` in the output before it reaches the log (secrets).
        public var mask: [String]
        /// Keep every process it starts in a cgroup of its own (ProcessContainment): for actions
        /// that run without the sandbox.
        public var containment = false

        public init(executable: String, arguments: [String], environment: [String: String], logPath: String? = nil, mask: [String] = []) {
            self.executable = executable
            self.arguments = arguments
            self.environment = environment
            self.logPath = logPath
            self.mask = mask.filter { !$0.isEmpty }
        }
    }

    /// Spawns the process and returns its pid, which is also its process group id.
    public static func spawn(_ spec: Spec) throws -> pid_t {
        try spawnMasked(spec).pid
    }

    /// Spawns the process; with values to mask, its output goes through a pipe that a thread copies
    /// into the log line by line with the values replaced. `drain()` the pump once the group is gone.
    public static func spawnMasked(_ spec: Spec) throws -> (pid: pid_t, pump: OutputPump?) {
        var spec = spec
        if spec.containment { (spec.executable, spec.arguments) = ProcessContainment.wrap(spec.executable, spec.arguments) }
        guard !spec.mask.isEmpty, let logPath = spec.logPath else {
            return (try Spawn.spawn(spec.executable, spec.arguments, environment: spec.environment, logPath: spec.logPath, newSession: false), nil)
        }
        // The child's dup2 onto its stdout clears close-on-exec there.
        let (readEnd, writeEnd) = try Spawn.closeOnExecPipe()
        defer { close(writeEnd) }
        let pid: pid_t
        do {
            pid = try Spawn.spawn(spec.executable, spec.arguments, environment: spec.environment, logPath: nil, newSession: false, outputDescriptor: writeEnd)
        } catch {
            close(readEnd)
            throw error
        }
        return (pid, OutputPump(descriptor: readEnd, logPath: logPath, mask: spec.mask))
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

    /// Waits for the process, stopping its group (TERM, then KILL after `grace`) at the timeout.
    public static func wait(pid: pid_t, timeout: Double, grace: Double) async -> (ProcessExit, Bool) {
        await withTaskGroup(of: ProcessExit?.self) { group in
            group.addTask { await wait(pid) }
            group.addTask {
                try? await Task.sleep(nanoseconds: UInt64(timeout * 1_000_000_000))
                return nil
            }
            var timedOut = false
            var exit: ProcessExit?
            while let next = await group.next() {
                if let next {
                    guard timedOut else {
                        group.cancelAll()  // the timer
                        return (next, false)
                    }
                    exit = next  // the supervisor finishes stopping the rest of the group
                } else if exit == nil && !timedOut {
                    timedOut = true
                    group.addTask {
                        await ProcessSupervisor.terminate(group: pid, grace: grace)
                        return nil
                    }
                }
            }
            return (exit ?? .signaled(SIGKILL), true)
        }
    }

    /// The environment for children, without git's hook variables (see Spawn.cleanEnvironment).
    public static func cleanEnvironment() -> [String: String] { Spawn.cleanEnvironment() }

    /// The absolute path of the running executable.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
