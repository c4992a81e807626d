import Foundation

/// The one place that kills (laminar's rule: processes die with their action). Timeouts, leftovers
/// of an ended action, `stop --abandon` and recovery all stop process groups through it: SIGTERM to
/// the whole group, then SIGKILL after a grace period if any member still runs.
public enum ProcessSupervisor {
    /// Stops the group and returns once it is gone (or was killed), sleeping between checks
    /// without holding a thread.
    /// (Real time, not the World's clock: the grace is what a real process gets to exit.)
    public static func terminate(group: pid_t, grace: Double) async {
        guard group > 1, groupAlive(group) else { return }
        kill(-group, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline {
            if !groupAlive(group) { return }
            try? await Task.sleep(nanoseconds: 50_000_000)
            if Task.isCancelled { break }  // no time left to be gentle
        }
        kill(-group, SIGKILL)
    }

    /// Stops every group, all at once, and returns when each is gone.
    public static func terminate(groups: some Sequence<pid_t>, grace: Double) async {
        await withTaskGroup(of: Void.self) { tasks in
            for group in Set(groups) { tasks.addTask { await terminate(group: group, grace: grace) } }
        }
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

    /// The process groups of processes that carry `NAME=value` in their environment: how recovery
    /// finds an execution's processes even when their group was never recorded.
    public static func groups(withEnvironment name: String, value: String) -> Set<pid_t> {
        let needle = Array("\(name)=\(value)".utf8)
        var groups: Set<pid_t> = []
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return groups }
        for entry in entries where entry.first?.isNumber == true {
            guard let environment = FileManager.default.contents(atPath: "/proc/\(entry)/environ"),
                  environment.split(separator: 0).contains(where: { Array($0) == needle }),
                  let pid = pid_t(entry) else { continue }
            let group = getpgid(pid)
            if group > 1 && group != getpgrp() { groups.insert(group) }
        }
        return groups
    }
}
