import Foundation
import HookClient
import Synchronization

/// The runner's end of `pipeline/hook.sock`: answers `git-pipeline-hook` with a push recorded by a
/// process that has libgit2 initialised already, so a push pays for a small client, not for
/// libgit2's start-up. The socket lives in the 0700 state folder: only the repository's owner
/// reaches it.
final class HookService: Sendable {
    let socketPath: String
    let layout: StateLayout
    let handler: PushHandler
    let onRecorded: @Sendable (Int) -> Void
    /// The listening socket (-1: stopped). Held while a request is answered, so that stop() never
    /// cuts an answer in half.
    private let listener = Mutex<Int32>(-1)

    init(layout: StateLayout, handler: PushHandler, onRecorded: @escaping @Sendable (Int) -> Void) {
        socketPath = layout.root + "/" + HookWire.socketName
        self.layout = layout
        self.handler = handler
        self.onRecorded = onRecorded
    }

    /// Starts listening on a thread of its own; false when the socket cannot be made (the hook then
    /// records pushes itself, only slower).
    func start() -> Bool {
        guard let fd = UnixSocket.listen(at: socketPath) else { return false }
        listener.withLock { $0 = fd }
        let thread = Thread { [self] in acceptLoop(fd) }
        thread.name = "hook-service"
        thread.start()
        return true
    }

    /// Stops answering: new hooks find no socket and record the slow way; an answer in progress ends first.
    func stop() {
        listener.withLock { fd in
            guard fd >= 0 else { return }
            unlink(socketPath)
            shutdown(fd, Int32(SHUT_RDWR))  // wakes accept()
            close(fd)
            fd = -1
        }
    }

    private func acceptLoop(_ fd: Int32) {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return  // stopped
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            let answered = listener.withLock { current -> (recorded: Int, waited: [String])? in current == fd ? answer(client) : nil }
            guard let answered else { close(client); return }
            if answered.recorded > 0 { onRecorded(answered.recorded) }
            guard !answered.waited.isEmpty else { close(client); continue }
            // `-o ci.wait`: the push's executions are followed on a thread of their own, which ends the answer.
            let waited = answered.waited
            let thread = Thread { [self] in
                PushProgress(layout: layout, executionIds: waited).stream { UnixSocket.sendAll(client, Array($0.utf8)) }
                _ = UnixSocket.sendAll(client, Array((HookWire.endOfAnswer + "\n").utf8))
                close(client)
            }
            thread.name = "push-wait"
            thread.start()
        }
    }

    /// Reads one request, records it, answers; returns how many executions it recorded, and the
    /// executions to follow when the push asked to wait (then the answer is not ended yet).
    private func answer(_ client: Int32) -> (recorded: Int, waited: [String]) {
        guard let request = UnixSocket.readAll(client, timeoutSeconds: 5) else { return (0, []) }  // the client will record the slow way
        let text = String(decoding: request, as: UTF8.self)
        guard text.hasPrefix(HookWire.pushPrefix), let newline = text.firstIndex(of: "\n") else { return (0, []) }
        let entryId = String(text[text.index(text.startIndex, offsetBy: HookWire.pushPrefix.count)..<newline])
        let result = handler.handle(entryId: entryId)
        let waited = handler.waitedExecutions(entryId: entryId)
        _ = UnixSocket.sendAll(client, Array((result.lines.map { $0 + "\n" }.joined() + (waited.isEmpty ? HookWire.endOfAnswer + "\n" : "")).utf8))
        return (result.executions, waited)
    }
}

/// The engine's side of a Unix stream socket. (The hook client has its own, libc-only: it is a
/// leaf that shares nothing with the engine but the wire's words.)
enum UnixSocket {
    /// A listening socket at `path` (a stale one is replaced: the caller holds the runner lock).
    static func listen(at path: String) -> Int32? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 64) == 0 else {
            close(fd)
            return nil
        }
        // The owner's, or in a shared repository the group's: every pusher's hook connects.
        chmod(path, currentUmask & 0o020 == 0 ? 0o660 : 0o600)
        return fd
    }

    /// Everything the peer sends until it shuts its side; nil when it goes quiet for `timeoutSeconds`.
    static func readAll(_ fd: Int32, timeoutSeconds: Int) -> [UInt8]? {
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { data += buffer[0..<n]; continue }
            if n < 0 && errno == EINTR { continue }
            return n < 0 ? nil : data
        }
    }

    /// Writes all of `bytes`; false when the peer went away.
    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 { if errno == EINTR { continue }; return false }
            sent += n
        }
        return true
    }
}
