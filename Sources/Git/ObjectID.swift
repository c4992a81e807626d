import CGit2

/// A git object id (SHA-1), as a Swift value.
public struct ObjectID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let hex: String

    init(_ oid: git_oid) {
        var oid = oid
        var buffer = [UInt8](repeating: 0, count: 40)
        buffer.withUnsafeMutableBytes { _ = git_oid_fmt($0.baseAddress!.assumingMemoryBound(to: CChar.self), &oid) }
        hex = String(decoding: buffer, as: UTF8.self)
    }

    /// Parses 40 hex digits; nil for anything else.
    public init?(hex: String) {
        guard hex.utf8.count == 40, hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70) }) else { return nil }
        self.hex = hex.lowercased()
    }

    public static let zero = ObjectID(hex: String(repeating: "0", count: 40))!
    public var isZero: Bool { self == .zero }
    public var short: String { String(hex.prefix(7)) }
    public var description: String { hex }
    public static func < (a: ObjectID, b: ObjectID) -> Bool { a.hex < b.hex }

    var raw: git_oid {
        var oid = git_oid()
        _ = hex.withCString { git_oid_fromstr(&oid, $0) }
        return oid
    }
}
