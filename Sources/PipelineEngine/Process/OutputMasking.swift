import Foundation
import Synchronization

/// Secret values and the forms of them we replace with `***`: the value itself, each line of a
/// multi-line value (a program may print one line of a key), and the value as it stands inside a
/// JSON string. Base64, hex, reversed or otherwise transformed forms are not found (as in CodeBuild):
/// README says so.
public struct SecretMask: Sendable {
    /// Longest first, so a value containing another is masked whole.
    let values: [[UInt8]]

    public init(_ secrets: [String]) {
        var forms: Set<String> = []
        for secret in secrets where !secret.isEmpty {
            forms.insert(secret)
            let escaped = SecretMask.jsonInside(secret)
            if escaped != secret { forms.insert(escaped) }
            for line in secret.split(whereSeparator: \.isNewline) {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                // A line of one or two characters (`{`, `}`) would mask half of every log.
                if trimmed.count >= 3 { forms.insert(trimmed) }
            }
        }
        values = forms.map { Array($0.utf8) }.sorted { $0.count > $1.count }
    }

    public var isEmpty: Bool { values.isEmpty }

    /// The text with every form of every secret replaced.
    public func apply(_ text: String) -> String {
        guard !values.isEmpty else { return text }
        return String(decoding: apply(Array(text.utf8)), as: UTF8.self)
    }

    public func apply(_ text: String?) -> String? { text.map { apply($0) } }

    /// True when the text holds some form of a secret.
    public func contains(_ text: String) -> Bool { apply(text) != text }

    func apply(_ bytes: [UInt8]) -> [UInt8] { masked(bytes, upTo: bytes.count).output }

    /// Masks `bytes[..<limit]` (matches may run past `limit`); returns the output and where it stopped.
    func masked(_ bytes: [UInt8], upTo limit: Int) -> (output: [UInt8], consumed: Int) {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var i = 0
        outer: while i < limit {
            for value in values where i + value.count <= bytes.count && bytes[i] == value[0] {
                if bytes[i..<(i + value.count)].elementsEqual(value) {
                    result += Array("***".utf8)
                    i += value.count
                    continue outer
                }
            }
            result.append(bytes[i])
            i += 1
        }
        return (result, i)
    }

    /// How many bytes at the end of `bytes` could be the start of a form still to come: what a
    /// stream must hold back until more arrives.
    func heldBack(_ bytes: [UInt8]) -> Int {
        let longest = min((values.first?.count ?? 1) - 1, bytes.count)
        guard longest > 0 else { return 0 }
        for length in stride(from: longest, through: 1, by: -1) {
            let tail = bytes[(bytes.count - length)...]
            if values.contains(where: { $0.count > length && $0.starts(with: tail) }) { return length }
        }
        return 0
    }

    static func jsonInside(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes])) ?? Data()
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }
}

/// The secret values an action has been given, gathered while it runs: what its log lines, its
/// processes' output and everything it leaves in the store are masked with.
final class ActionSecrets: Sendable {
    /// The values, and the mask made from them once per new value (not per log line).
    private let state = Mutex<(values: [String], mask: SecretMask)>(([], SecretMask([])))

    func add(_ value: String) {
        state.withLock { state in
            guard !value.isEmpty, !state.values.contains(value) else { return }
            state.values.append(value)
            state.mask = SecretMask(state.values)
        }
    }
    var values: [String] { state.withLock { $0.values } }
    var mask: SecretMask { state.withLock { $0.mask } }
}

/// Copies a child's output into its log, replacing secrets with `***`. A stream, not lines: output
/// is written as it comes, except a tail that could be the start of a secret, held back until the
/// next read shows whether it is one — so a value split across writes, or anywhere in a line of any
/// length, is found.
public final class OutputPump: Sendable {
    private let done = DispatchSemaphore(value: 0)

    init(descriptor: Int32, logPath: String, mask: [String]) {
        let mask = SecretMask(mask)
        let done = self.done
        Thread.detachNewThread {
            let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o666)
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            func emit(final: Bool) {
                let limit = final ? pending.count : pending.count - mask.heldBack(pending)
                let (output, consumed) = mask.masked(pending, upTo: limit)
                output.withUnsafeBytes { _ = write(log, $0.baseAddress, $0.count) }
                pending.removeFirst(consumed)
            }
            while true {
                let count = read(descriptor, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                pending += buffer[0..<count]
                emit(final: false)
            }
            emit(final: true)
            close(descriptor)
            close(log)
            done.signal()
        }
    }

    /// Waits until everything written by the (stopped) process group is in the log.
    public func drain(timeout: Double = 5) {
        _ = done.wait(timeout: .now() + timeout)
    }
}
