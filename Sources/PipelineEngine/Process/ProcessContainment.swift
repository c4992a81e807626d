import Foundation

/// Without the sandbox, an action's processes are kept in a cgroup (v2) of their own, named by the
/// action's process group: a daemon that starts a new session, leaves the group or clears its
/// environment is still in it, and `cgroup.kill` ends them all (after stop, timeout, abandon, or a
/// runner crash, when recovery terminates the recorded group). Where no cgroup can be made (a
/// service user without a delegated cgroup), the process group is all there is, and the log says so.
public enum ProcessContainment {
    /// The runner's own cgroup in the v2 hierarchy, when this user may make cgroups below it.
    public static let base: String? = {
        guard let mounts = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8),
              let own = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return nil }
        // mountinfo: id parent major:minor root mountpoint options - fstype source superoptions
        guard let mount = mounts.split(separator: "\n").lazy.compactMap({ line -> String? in
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2, halves[1].hasPrefix("cgroup2 ") else { return nil }
            let fields = halves[0].split(separator: " ")
            return fields.count > 4 ? String(fields[4]) : nil
        }).first else { return nil }
        guard let path = own.split(separator: "\n").first(where: { $0.hasPrefix("0::") })?.dropFirst(3) else { return nil }
        let folder = mount + (path == "/" ? "" : String(path))
        return access(folder, W_OK) == 0 && access(folder + "/cgroup.procs", W_OK) == 0 ? folder : nil
    }()

    /// The cgroup of the action whose process group is `group`.
    static func folder(_ group: pid_t) -> String? { base.map { $0 + "/git-pipeline-\(group)" } }

    /// Runs `executable` through a shell that first moves itself into its own cgroup (posix_spawn
    /// cannot place a child in one), then becomes the command: the pid, and the group, stay.
    static func wrap(_ executable: String, _ arguments: [String]) -> (String, [String]) {
        guard let base else { return (executable, arguments) }
        let script = "d=\"$0/git-pipeline-$$\"; { mkdir -p \"$d\" && echo $$ > \"$d/cgroup.procs\"; } 2>/dev/null; exec \"$@\""
        return ("/bin/sh", ["-c", script, base, executable] + arguments)
    }

    /// The processes still in the group's cgroup.
    static func members(_ group: pid_t) -> [pid_t] {
        guard let folder = folder(group), let text = try? String(contentsOfFile: folder + "/cgroup.procs", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { pid_t($0) }.filter(ProcessSupervisor.isRunning)
    }

    static func signal(_ group: pid_t, _ signal: Int32) {
        for pid in members(group) { Glibc.kill(pid, signal) }
    }

    /// Kills every process in the cgroup and removes it once it is empty.
    static func killAll(_ group: pid_t) {
        guard let folder = folder(group), FileManager.default.fileExists(atPath: folder) else { return }
        if let killer = FileHandle(forWritingAtPath: folder + "/cgroup.kill") {
            try? killer.write(contentsOf: Data("1".utf8))
            try? killer.close()
        }
        signal(group, SIGKILL)
        for _ in 0..<100 where rmdir(folder) != 0 && errno == EBUSY { usleep(10_000) }
    }
}
