import Foundation
import PipelineEngine

/// The console's streams: server-sent events for "the store changed" (pages fetch themselves
/// again) and for a growing log, and file downloads in chunks.
enum Live {
    /// How often a stream looks for news: the store's change stamp is a stat(2), a log's growth
    /// another; both are cheap enough for a few viewers per repository.
    static let lookNanoseconds: UInt64 = 250_000_000
    /// A comment line now and then keeps proxies from closing a quiet stream.
    static let heartbeatSeconds = 15.0

    static func sse(_ body: @escaping @Sendable (inout any ConsoleBodyWriter) async throws -> Void) -> ConsoleResponse {
        ConsoleResponse(status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-store"), ("X-Accel-Buffering", "no")],
                        body: .stream { writer in
                            try await writer.send("retry: 1000\n\n")
                            try await body(&writer)
                        })
    }

    /// `event: change` each time the store of any of the catalog's repositories changes.
    static func changes(_ catalog: RepositoryCatalog) -> ConsoleResponse {
        changes { catalog.all().map { ServedRepository(name: $0.name, layout: $0.layout).changeStamp() }.max() ?? 0 }
    }

    static func changes(_ repository: ServedRepository) -> ConsoleResponse { changes { repository.changeStamp() } }

    static func changes(stamp: @escaping @Sendable () -> Int64) -> ConsoleResponse {
        sse { writer in
            var last = stamp()
            var quiet = Date()
            try await writer.send("event: ready\ndata: \(last)\n\n")
            while true {
                try await Task.sleep(nanoseconds: lookNanoseconds)
                let now = stamp()
                if now != last {
                    last = now
                    quiet = Date()
                    try await writer.send("event: change\ndata: \(now)\n\n")
                } else if Date().timeIntervalSince(quiet) > heartbeatSeconds {
                    quiet = Date()
                    try await writer.send(": still here\n\n")
                }
            }
        }
    }

    /// The log of one action from `offset` on, as `event: log` (the text as a JSON string) while
    /// it grows, then `event: end` with the action's status once it has ended and all is sent.
    static func log(_ repository: ServedRepository, execution: ExecutionRecord, actionId: Int64, offset start: UInt64) -> ConsoleResponse {
        sse { writer in
            var offset = start
            var quiet = Date()
            while true {
                // The status is read before the file: what an ended action wrote is all there.
                guard let action = try repository.store().actions(of: execution.id).first(where: { $0.id == actionId }) else { return }
                let ended = action.status.isTerminal
                let bytes = action.logPath.map { completeUTF8(readFrom($0, offset: offset), final: ended) } ?? []
                if !bytes.isEmpty {
                    offset += UInt64(bytes.count)
                    quiet = Date()
                    // The id is the offset reached: a reconnecting EventSource sends it back as
                    // Last-Event-ID, and the stream goes on from there without repeating a line.
                    try await writer.send("id: \(offset)\nevent: log\ndata: \(jsonText(String(decoding: bytes, as: UTF8.self), pretty: false))\n\n")
                    continue
                }
                if ended {
                    try await writer.send("event: end\ndata: \(action.status.rawValue)\n\n")
                    return
                }
                if Date().timeIntervalSince(quiet) > heartbeatSeconds {
                    quiet = Date()
                    try await writer.send(": still here\n\n")
                }
                try await Task.sleep(nanoseconds: lookNanoseconds)
            }
        }
    }

    /// A file in 64 KiB chunks (artifacts can be large).
    static func file(_ path: String, type: String, downloadName: String) -> ConsoleResponse {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            return .text("the artifact's file is gone (\(path)): it was removed with old executions (pipeline.retainExecutions)", status: 410)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
        let safeName = downloadName.filter { $0.isLetter || $0.isNumber || "._-#".contains($0) }
        return ConsoleResponse(status: 200, headers: [("Content-Type", type), ("Content-Disposition", "attachment; filename=\"\(safeName)\"")]
                                + (size.map { [("Content-Length", String($0))] } ?? []),
                               body: .stream { writer in
                                   defer { try? handle.close() }
                                   while let chunk = try handle.read(upToCount: 65536), !chunk.isEmpty { try await writer.write([UInt8](chunk)) }
                               })
    }

    static func readFrom(_ path: String, offset: UInt64, limit: Int = 1 << 20) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: offset)) != nil, let data = try? handle.read(upToCount: limit) else { return [] }
        return [UInt8](data)
    }

    /// `bytes` without a UTF-8 sequence cut at its end (the rest comes with the next read), so a
    /// character is never split between two events. `final`: the file is complete; keep all.
    static func completeUTF8(_ bytes: [UInt8], final: Bool = false) -> [UInt8] {
        guard !final, !bytes.isEmpty else { return bytes }
        var index = bytes.count - 1
        var back = 0
        while index >= 0 && back < 4 && bytes[index] & 0xC0 == 0x80 { index -= 1; back += 1 }
        guard index >= 0 else { return bytes }
        let lead = bytes[index]
        let length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        return bytes.count - index < length ? Array(bytes[..<index]) : bytes
    }
}
