import Foundation

/// Copies a child's output into its log, replacing secret values with `***`. Works line by line (a
/// value split across two reads is still found); a line longer than 64 KiB is flushed as it is.
public final class OutputPump: Sendable {
    private let done = DispatchSemaphore(value: 0)

    init(descriptor: Int32, logPath: String, mask: [String]) {
        // Longest first, so a value containing another is masked whole.
        let values = mask.sorted { $0.count > $1.count }.map { Array($0.utf8) }
        let done = self.done
        Thread.detachNewThread {
            let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o666)
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
