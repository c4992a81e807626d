import Foundation
import HookClient
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Starting processes with posix_spawn: actions (each in a process group of its own) and the
/// detached runner (a session of its own).
enum Spawn {
    public struct Failure: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    private static let lock = Mutex(())

    /// A pipe with both ends close-on-exec, made under the spawn lock so that no child started
    /// meanwhile inherits it (a child holding the write end would keep the reader from its EOF).
    public static func closeOnExecPipe() throws -> (read: Int32, write: Int32) {
        try lock.withLock { _ in
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw Failure(message: "cannot create a pipe: \(String(cString: strerror(errno)))") }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return (fds[0], fds[1])
        }
    }

    /// Spawns `executable` with stdin from /dev/null and stdout+stderr appended to `logPath`, in a
    /// process group of its own (or a session of its own with `newSession`). Returns the pid, which
    /// is also the group's id.
    public static func spawn(_ executable: String, _ arguments: [String], environment: [String: String],
                             logPath: String?, newSession: Bool, outputDescriptor: Int32? = nil) throws -> pid_t {
        // On the one thread that lives as long as the process: bubblewrap's --die-with-parent is
        // PR_SET_PDEATHSIG, which fires when the *thread* that started it ends, and the pool's
        // threads end after a few idle seconds (an action was SIGKILLed 5 s into its sleep).
        try SpawnerThread.shared.run {
            try spawnHere(executable, arguments, environment: environment, logPath: logPath, newSession: newSession,
                          outputDescriptor: outputDescriptor)
        }
    }

    private static func spawnHere(_ executable: String, _ arguments: [String], environment: [String: String],
                                  logPath: String?, newSession: Bool, outputDescriptor: Int32?) throws -> pid_t {
        try lock.withLock { _ in
            // A child holds nothing of ours: a pipe git gave us, kept open by a child, makes git wait.
            InheritedDescriptors.closeOnExec()
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            if let outputDescriptor {
                posix_spawn_file_actions_adddup2(&actions, outputDescriptor, 1)
            } else {
                // 0666 under the umask: in a shared repository the log is the group's too.
                posix_spawn_file_actions_addopen(&actions, 1, logPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o666)
            }
            posix_spawn_file_actions_adddup2(&actions, 1, 2)

            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var flags = Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
            flags |= newSession ? Int16(0x80) /* POSIX_SPAWN_SETSID */ : Int16(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setflags(&attributes, flags)
            posix_spawnattr_setpgroup(&attributes, 0)
            ChildSignals.reset(&attributes)

            let argv = ([executable] + arguments).map { strdup($0) } + [nil]
            let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer {
                argv.forEach { free($0) }
                envp.forEach { free($0) }
            }
            var pid: pid_t = 0
            let code = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
            guard code == 0 else { throw Failure(message: "cannot start \(executable): \(String(cString: strerror(code)))") }
            return pid
        }
    }

    /// The process environment without the variables git sets for hooks, which would point an
    /// action's own git commands at the server's repository.
    public static func cleanEnvironment() -> [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("GIT_") }
    }
}

/// A thread that never ends, on which every child is started (see Spawn.spawn).
final class SpawnerThread: @unchecked Sendable {
    static let shared = SpawnerThread()

    // @unchecked: `jobs` is touched only while `condition` is locked.
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []

    private init() {
        let thread = Thread { [self] in loop() }
        thread.name = "spawner"
        thread.start()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }

    /// Runs `body` on the spawner thread and returns what it returned (or throws what it threw).
    func run<T>(_ body: @escaping () throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<T, any Error>?
        condition.lock()
        jobs.append {
            result = Result { try body() }
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        return try result!.get()
    }
}
