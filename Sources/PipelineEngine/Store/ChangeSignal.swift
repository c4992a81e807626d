import Foundation
import HookClient
import Synchronization

/// The store's change signal, across processes: after every write transaction the writer touches
/// `changes` beside the database, and whoever waits for the store to change (the runner, `--wait`,
/// `--follow`, an approval) watches that file with inotify instead of polling.
public struct ChangeSignal: Sendable {
    public let path: String

    public init(databasePath: String, name: String = HookWire.changeSignalName) {
        path = (databasePath as NSString).deletingLastPathComponent + "/" + name
    }

    /// Tells every watcher that the store changed. Best effort: a watcher that misses it (the file
    /// could not be touched) still wakes at its own deadline.
    public func post() {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o666)  // under the umask: shared with the group when the repository is
        guard fd >= 0 else { return }
        // Setting the times to now raises IN_ATTRIB; nothing is written.
        _ = futimens(fd, nil)
        close(fd)
    }

    /// An inotify watch on the signal file; `wait` blocks the calling thread.
    public final class Watcher: Sendable {
        private let descriptor: Int32

        /// nil when inotify is unavailable (callers then wake at their deadline only).
        public init?(_ signal: ChangeSignal) {
            let fd = open(signal.path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o666)
            if fd >= 0 { close(fd) }
            let watch = inotify_init1(Int32(IN_CLOEXEC))
            guard watch >= 0 else { return nil }
            guard inotify_add_watch(watch, signal.path, UInt32(IN_ATTRIB | IN_MODIFY | IN_CLOSE_WRITE)) >= 0 else {
                close(watch)
                return nil
            }
            descriptor = watch
        }

        deinit { close(descriptor) }

        /// Blocks until the store changes or `timeout` seconds pass (nil: no deadline). True when it changed.
        @discardableResult
        public func wait(timeout: Double?) -> Bool {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let milliseconds = timeout.map { Int32(min(max($0, 0) * 1000, Double(Int32.max))) } ?? -1
            let ready = poll(&poller, 1, milliseconds)
            guard ready > 0 else { return false }
            // Drain every queued event: one wake-up stands for all changes so far.
            var buffer = [UInt8](repeating: 0, count: 4096)
            var flags = fcntl(descriptor, F_GETFL)
            _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
            while read(descriptor, &buffer, buffer.count) > 0 {}
            flags = fcntl(descriptor, F_GETFL)
            _ = fcntl(descriptor, F_SETFL, flags & ~O_NONBLOCK)
            return true
        }
    }
}

/// Wake-ups inside one process: whoever waits for "something changed" (the runner loop, an
/// approval) waits here; the store watcher, the hook service and finishing executions ring.
/// A generation counter makes a ring between a look at the state and the wait impossible to miss.
public final class Doorbell: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
        /// Waiters whose deadline passed before they started waiting.
        var expired: Set<UInt64> = []
    }

    private let state = Mutex(State())

    public init() {}

    /// The current generation: take it before looking at the state, then `wait(after:)` it.
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// Wakes every waiter.
    public func ring() {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiting { waiter.resume() }
    }

    /// Returns once the generation has moved past `seen`, or after `timeout` seconds (nil: none).
    public func wait(after seen: UInt64, timeout: Double?) async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter &+= 1
            return state.nextWaiter
        }
        let timer = timeout.map { seconds in
            Task { [weak self] in
                try? await Task.sleep(nanoseconds: UInt64(max(seconds, 0) * 1_000_000_000))
                self?.release(id)
            }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.generation != seen || state.expired.remove(id) != nil { return true }
                state.waiters[id] = continuation
                return false
            }
            if now { continuation.resume() }
        }
        timer?.cancel()
        state.withLock { _ = $0.expired.remove(id) }
    }

    private func release(_ id: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiters.removeValue(forKey: id) else {
                state.expired.insert(id)
                return nil
            }
            return waiter
        }
        waiter?.resume()
    }
}
