import Foundation

/// The runner's lock: an flock on `pipeline/runner.lock`, held for the runner's whole life. One
/// runner per repository owns every execution, so stage locks and recovery need no more than this.
final class RunnerLock: Sendable {
    let path: String
    private let descriptor: Int32

    init(path: String) {
        self.path = path
        // 0666 under the umask: in a shared repository every pusher's runner must be able to take it.
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o666)
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Takes the lock without waiting; false when another runner holds it.
    func acquire() -> Bool { descriptor >= 0 && flock(descriptor, LOCK_EX | LOCK_NB) == 0 }

    func release() { if descriptor >= 0 { flock(descriptor, LOCK_UN) } }

    /// True when a runner holds the lock at `path` (checked without waiting).
    static func isHeld(_ path: String) -> Bool {
        // Read-only is enough to ask: flock works on any open descriptor.
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return true
    }
}
