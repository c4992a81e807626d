import Foundation
import Git
import HookClient
import PipelineHook

/// Records a push (post-receive input) and returns the lines to show the pusher. The runner's hook
/// service runs it for `git-pipeline-hook`; `git pipeline hook post-receive` runs it when no runner
/// is there to ask. Definitions come from the store's parse cache; new ones are parsed first.
public struct PushHandler {
    let layout: StateLayout

    public init(layout: StateLayout) { self.layout = layout }

    public func handle(input: String, pusher: String) -> (lines: [String], executions: Int) {
        let parsed = RefUpdate.parse(input)
        var lines = parsed.errors
        var executions = 0
        do {
            let repository = try Repository(path: layout.gitDirectory)
            let settings = try PipelineSettings(repository: repository)
            let recorder = PushRecorder(repository: repository, database: try SQLiteConnection(path: layout.database), notesRef: settings.notesRef)
            var outcome = try recorder.record(parsed.updates, pusher: pusher)
            if case .needsParsing = outcome {
                try DefinitionCache.warm(layout: layout, updates: parsed.updates)
                outcome = try recorder.record(parsed.updates, pusher: pusher)
            }
            switch outcome {
            case .needsParsing:
                lines.append("error: a definition could not be parsed into the cache; run `git pipeline doctor` on the server")
            case .recorded(let recorded, let count):
                lines += recorded
                executions = count
            }
        } catch {
            lines.append("error: \(error) — the push went through; run `git pipeline doctor` on the server")
        }
        return (lines.map { "git-pipeline: " + $0 }, executions)
    }
}

/// The runner's end of `pipeline/hook.sock`: answers `git-pipeline-hook` with a push recorded by a
/// process that has libgit2 initialised already, so a push pays for a small client, not for
/// libgit2's start-up. The socket lives in the 0700 state folder: only the repository's owner
/// reaches it.
final class HookService: @unchecked Sendable {
    let layout: StateLayout
    let onRecorded: @Sendable (Int) -> Void
    private var listener: Int32 = -1
    /// Held while a request is handled, so that stop() never cuts an answer in half.
    private let busy = NSLock()

    var socketPath: String { layout.root + "/hook.sock" }

    init(layout: StateLayout, onRecorded: @escaping @Sendable (Int) -> Void) {
        self.layout = layout
        self.onRecorded = onRecorded
    }

    /// Starts listening on a thread of its own; false when the socket cannot be made (the hook then
    /// records pushes itself, only slower).
    func start() -> Bool {
        guard var address = unixSocketAddress(socketPath) else { return false }
        unlink(socketPath)  // a stale socket of a runner that died; we hold the runner lock
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            return false
        }
        chmod(socketPath, 0o600)
        listener = fd
        let thread = Thread { [self] in acceptLoop(fd) }
        thread.name = "hook-service"
        thread.start()
        return true
    }

    /// Stops answering: new hooks find no socket and record the slow way; an answer in progress ends first.
    func stop() {
        busy.lock()
        defer { busy.unlock() }
        guard listener >= 0 else { return }
        unlink(socketPath)
        shutdown(listener, Int32(SHUT_RDWR))  // wakes accept()
        close(listener)
        listener = -1
    }

    private func acceptLoop(_ fd: Int32) {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return  // stopped
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            busy.lock()
            let active = listener == fd
            if active { answer(client) }
            busy.unlock()
            close(client)
            if !active { return }
        }
    }

    private func answer(_ client: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(client, &buffer, buffer.count, 0)
            if n > 0 { request += buffer[0..<n]; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return }  // the client went quiet: it will record the slow way
            break
        }
        let text = String(decoding: request, as: UTF8.self)
        guard text.hasPrefix("pusher "), let newline = text.firstIndex(of: "\n") else { return }
        let pusher = String(text[text.index(text.startIndex, offsetBy: 7)..<newline])
        let result = PushHandler(layout: layout).handle(input: String(text[text.index(after: newline)...]), pusher: pusher)
        _ = sendAll(client, Array((result.lines.map { $0 + "\n" }.joined() + HookClient.endOfAnswer + "\n").utf8))
        if result.executions > 0 { onRecorded(result.executions) }
    }
}
