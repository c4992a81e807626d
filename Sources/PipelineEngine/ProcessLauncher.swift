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
        /// Values replaced by `***` in the output before it reaches the log (secrets).
        public var mask: [String]

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
            while let result = await group.next() {
                if let result {
                    group.cancelAll()
                    return (result, timedOut)
                }
                if !Task.isCancelled && !timedOut {
                    timedOut = true
                    ProcessLauncher.terminateGroup(pid, grace: grace)
                }
            }
            return (.signaled(SIGKILL), true)
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

/// Copies a child's output into its log, replacing secret values with `***`. Works line by line (a
/// value split across two reads is still found); a line longer than 64 KiB is flushed as it is.
public final class OutputPump: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)

    init(descriptor: Int32, logPath: String, mask: [String]) {
        // Longest first, so a value containing another is masked whole.
        let values = mask.sorted { $0.count > $1.count }.map { Array($0.utf8) }
        let done = self.done
        Thread.detachNewThread {
            let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            func flush(_ bytes: [UInt8]) {
                let masked = OutputPump.mask(bytes, values)
                masked.withUnsafeBytes { _ = write(log, $0.baseAddress, $0.count) }
            }
            while true {
                let count = read(descriptor, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                pending += buffer[0..<count]
                if let last = pending.lastIndex(of: 10) {
                    flush(Array(pending[...last]))
                    pending.removeSubrange(...last)
                } else if pending.count > 65536 {
                    flush(pending)
                    pending.removeAll()
                }
            }
            if !pending.isEmpty { flush(pending) }
            close(descriptor)
            close(log)
            done.signal()
        }
    }

    static func mask(_ bytes: [UInt8], _ values: [[UInt8]]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var i = 0
        outer: while i < bytes.count {
            for value in values where !value.isEmpty && i + value.count <= bytes.count && bytes[i] == value[0] {
                if bytes[i..<(i + value.count)].elementsEqual(value) {
                    result += Array("***".utf8)
                    i += value.count
                    continue outer
                }
            }
            result.append(bytes[i])
            i += 1
        }
        return result
    }

    /// Waits until everything written by the (stopped) process group is in the log.
    public func drain(timeout: Double = 5) {
        _ = done.wait(timeout: .now() + timeout)
    }
}
