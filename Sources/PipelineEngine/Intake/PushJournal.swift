import Foundation
import HookClient

/// The push journal (`pipeline/push-journal`): what the hooks append, one line per ref update
/// (HookWire.journalLine). Read here from an offset; only whole lines count (each hook writes its
/// lines in one write, so a line is whole or absent).
struct PushJournal {
    struct Line: Equatable {
        /// An intent (pre-receive, before git moves the refs) or done (post-receive, after).
        var done: Bool
        var entryId: String
        var old: String
        var new: String
        var ref: String
        var pusher: String
    }

    /// A push option (`git push -o`) of an entry, at its position.
    struct Option: Equatable {
        var entryId: String
        var position: Int
        var text: String
    }

    static let name = HookWire.journalName
    let path: String

    init(layout: StateLayout) { path = layout.root + "/" + Self.name }

    /// The journal's size: more than the ingested offset means there is something to read.
    var size: Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }

    /// The whole lines after `offset`, and the offset after the last of them. A line that does not
    /// parse is skipped with a message (never fatal: the rest of the journal still counts).
    func read(from offset: Int64) -> (lines: [Line], options: [Option], end: Int64, problems: [String]) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return ([], [], offset, []) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, Int64(info.st_size) > offset else { return ([], [], offset, []) }
        let size = Int(Int64(info.st_size) - offset)
        var data = [UInt8](repeating: 0, count: size)
        var have = 0
        while have < size {
            let n = data.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + have, size - have, off_t(offset) + off_t(have)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            have += n
        }
        data.removeSubrange(have...)
        guard let lastNewline = data.lastIndex(of: 10) else { return ([], [], offset, []) }
        var lines: [Line] = [], options: [Option] = [], problems: [String] = []
        for raw in data[data.startIndex...lastNewline].split(separator: 10) {
            let text = String(decoding: raw, as: UTF8.self)
            if let line = Self.parse(text) {
                lines.append(line)
            } else if let option = Self.parseOption(text) {
                options.append(option)
            } else {
                problems.append("push journal: ignored a malformed line: \(text.prefix(200))")
            }
        }
        return (lines, options, offset + Int64(lastNewline - data.startIndex + 1), problems)
    }

    static func parse(_ text: String) -> Line? {
        let parts = text.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count >= 5, parts[0] == HookWire.intentKind || parts[0] == HookWire.doneKind,
              ObjectIDText.valid(parts[2]), ObjectIDText.valid(parts[3]), parts[4].hasPrefix("refs/") else { return nil }
        return Line(done: parts[0] == HookWire.doneKind, entryId: String(parts[1]), old: String(parts[2]), new: String(parts[3]),
                    ref: String(parts[4]), pusher: parts.count > 5 ? String(parts[5]) : "unknown")
    }

    static func parseOption(_ text: String) -> Option? {
        let parts = text.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == HookWire.optionKind, let position = Int(parts[2]) else { return nil }
        return Option(entryId: String(parts[1]), position: position, text: String(parts[3]))
    }

    /// True while the git-receive-pack of an entry (`pid-starttime`) still runs: its push may still
    /// move refs. An entry without that form (an old shim's random id) counts as gone.
    static func receivePackRunning(_ entryId: String) -> Bool {
        let parts = entryId.split(separator: "-")
        guard parts.count == 2, let pid = Int32(parts[0]),
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 && fields[19] == parts[1] && fields[0] != "Z"
    }
}

/// Hex object ids (SHA-1 or SHA-256) as text.
enum ObjectIDText {
    static func valid(_ text: Substring) -> Bool {
        (text.count == 40 || text.count == 64) && text.allSatisfy { $0.isHexDigit }
    }
}
