import Foundation

/// The one place that kills (laminar's rule: processes die with their action). Timeouts, leftovers
/// of an ended action, `stop --abandon` and recovery all stop process groups through it: SIGTERM to
/// the whole group, then SIGKILL after a grace period if any member still runs.
public enum ProcessSupervisor {
    /// Stops the group and returns once it is gone (or was killed), sleeping between checks
    /// without holding a thread.
    /// (Real time, not the World's clock: the grace is what a real process gets to exit.)
    public static func terminate(group: pid_t, grace: Double) async {
        guard group > 1 else { return }
        func alive() -> Bool { groupAlive(group) || !ProcessContainment.members(group).isEmpty }
        guard alive() else {
            ProcessContainment.killAll(group)  // an empty cgroup left behind is removed
            return
        }
        signal(group, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline {
            if !alive() { break }
            try? await Task.sleep(nanoseconds: 50_000_000)
            if Task.isCancelled { break }  // no time left to be gentle
        }
        kill(-group, SIGKILL)
        ProcessContainment.killAll(group)
    }

    /// Sends `signal` to the group's processes. A sandbox's bwrap would die of SIGTERM at once and
    /// take its namespace with it: the processes inside get the signal themselves, so that a build
    /// may clean up in its grace period; SIGKILL of bwrap later ends whatever is left.
    static func signal(_ group: pid_t, _ signal: Int32) {
        if signal != SIGKILL, command(of: group) == "bwrap" {
            for pid in descendants(of: group) where command(of: pid) != "bwrap" { kill(pid, signal) }
        } else {
            kill(-group, signal)
        }
        ProcessContainment.signal(group, signal)
    }

    /// The process's name (`comm`).
    static func command(of pid: pid_t) -> String? {
        (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines)
    }

    /// Every live process below `root` in the process tree.
    static func descendants(of root: pid_t) -> [pid_t] {
        var children: [pid_t: [pid_t]] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where entry.first?.isNumber == true {
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, fields[0] != "Z", let parent = pid_t(fields[1]) { children[parent, default: []].append(pid) }
        }
        var result: [pid_t] = []
        var queue = children[root] ?? []
        while let next = queue.popLast() {
            result.append(next)
            queue += children[next] ?? []
        }
        return result
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
