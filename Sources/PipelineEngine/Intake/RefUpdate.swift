import Git
import HookClient
import PipelineModel

/// One line of post-receive input: `<old> <new> <ref>`.
public struct RefUpdate: Sendable, Equatable {
    public let old: ObjectID
    public let new: ObjectID
    public let ref: String

    public init(old: ObjectID, new: ObjectID, ref: String) {
        self.old = old
        self.new = new
        self.ref = ref
    }

    /// Parses git's post-receive input; malformed lines come back as messages to print.
    public static func parse(_ input: String) -> (updates: [RefUpdate], errors: [String]) {
        var updates: [RefUpdate] = [], errors: [String] = []
        for line in input.split(separator: "\n") where !line.allSatisfy({ $0 == " " || $0 == "\r" }) {
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count == 3, let old = ObjectID(hex: String(parts[0])), let new = ObjectID(hex: String(parts[1])) else {
                errors.append("ignored a malformed hook input line: \(line)")
                continue
            }
            updates.append(RefUpdate(old: old, new: new, ref: String(parts[2])))
        }
        return (updates, errors)
    }

    /// Branch and tag pushes trigger; deletions and other refs (notes, …) do not.
    public var triggers: Bool { HookWire.triggers(ref: ref, deleted: new.isZero) }
    public var isBranch: Bool { ref.hasPrefix("refs/heads/") }
    public var shortName: String { shortRefName(ref) }
}
