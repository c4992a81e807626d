import CZlib
import Foundation

/// What the zip reader's fuzz target (Sources/fuzz-zip) runs on each input: every check the
/// runner makes before it extracts (the directory, each entry's name, its bytes and CRC). A bad
/// zip must end in an error; anything else — a trap, a crash, a hang — is a finding.
public enum ZipFuzzing {
    public static func read(_ bytes: Data) {
        guard let reader = try? ZipReader(data: bytes, path: "fuzz.zip") else { return }
        for entry in reader.entries {
            _ = try? ZipReader.safeRelativePath(entry.path, zip: "fuzz.zip")
            _ = try? reader.contents(of: entry)
        }
    }
}

/// Reads a zip's central directory and extracts it into a folder, refusing any entry that would
/// land outside that folder (absolute paths, `..`, writes through a symlink).
struct ZipReader {
    struct Entry {
        var path: String
        var mode: UInt32?
        var method: UInt16
        var crc: UInt32
        var compressedSize: UInt64
        var uncompressedSize: UInt64
        var localHeaderOffset: UInt64
        var isDirectory: Bool { path.hasSuffix("/") || (mode.map { $0 & 0o170000 == 0o040000 } ?? false) }
        var isSymlink: Bool { mode.map { $0 & 0o170000 == 0o120000 } ?? false }
    }

    let path: String
    let entries: [Entry]
    private let data: Data

    init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw ZipError(path: path, message: "cannot read") }
        try self.init(data: data, path: path)
    }

    init(data: Data, path: String) throws {
        self.path = path
        self.data = Data(data)  // indices from 0
        entries = try Self.readCentralDirectory(self.data, path: path)
    }

    /// The central directory. A zip may come from an action (untrusted): every offset, size, count
    /// and zip64 field is checked against the file before it is used, and a bad one is an error,
    /// never a trap.
    private static func readCentralDirectory(_ data: Data, path: String) throws -> [Entry] {
        let bytes = [UInt8](data)
        func bad(_ what: String) -> ZipError { ZipError(path: path, message: "malformed zip: \(what)") }
        /// A little-endian field of `width` bytes at `offset`, which must lie inside `limit`.
        func field(_ offset: Int, _ width: Int, within limit: Int? = nil, _ what: String) throws -> UInt64 {
            let end = limit ?? bytes.count
            guard offset >= 0, width <= 8, offset <= end - width else { throw bad("\(what) lies past the end") }
            var value: UInt64 = 0
            for index in 0..<width { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
            return value
        }
        /// An offset or size that must fit the file.
        func position(_ value: UInt64, _ what: String) throws -> Int {
            guard value <= UInt64(bytes.count) else { throw bad("\(what) \(value) is beyond the file's \(bytes.count) bytes") }
            return Int(value)
        }
        guard bytes.count >= 22 else { throw ZipError(path: path, message: "not a zip file (too short)") }
        var eocd = -1
        var i = bytes.count - 22
        while i >= max(0, bytes.count - 65_557) {
            if try field(i, 4, "end record") == 0x0605_4b50 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw ZipError(path: path, message: "not a zip file (no end of central directory)") }
        var count = try field(eocd + 10, 2, "entry count")
        var offset = try field(eocd + 16, 4, "central directory offset")
        if eocd >= 20, try field(eocd - 20, 4, "zip64 locator") == 0x0706_4b50 {
            let z = try position(try field(eocd - 20 + 8, 8, "zip64 end record offset"), "zip64 end record offset")
            guard try field(z, 4, "zip64 end record") == 0x0606_4b50 else { throw bad("no zip64 end record where the locator says") }
            count = try field(z + 32, 8, "zip64 entry count")
            offset = try field(z + 48, 8, "zip64 central directory offset")
        }
        // Each entry takes at least 46 bytes: a count the file cannot hold is a lie.
        guard count <= UInt64(bytes.count / 46) else { throw bad("\(count) entries cannot fit in \(bytes.count) bytes") }
        var entries: [Entry] = []
        var o = try position(offset, "central directory offset")
        for _ in 0..<Int(count) {
            guard try field(o, 4, "central directory entry") == 0x0201_4b50 else { throw bad("bad central directory entry") }
            let madeBy = try field(o + 4, 2, "entry") >> 8
            let nameLength = Int(try field(o + 28, 2, "name length")), extraLength = Int(try field(o + 30, 2, "extra length"))
            let commentLength = Int(try field(o + 32, 2, "comment length"))
            guard o + 46 + nameLength + extraLength + commentLength <= bytes.count else { throw bad("truncated central directory") }
            var entry = Entry(
                path: String(decoding: bytes[(o + 46)..<(o + 46 + nameLength)], as: UTF8.self),
                mode: madeBy == 3 ? UInt32(try field(o + 38, 4, "attributes") >> 16) : nil,
                method: UInt16(try field(o + 10, 2, "method")), crc: UInt32(try field(o + 16, 4, "crc")),
                compressedSize: try field(o + 20, 4, "size"), uncompressedSize: try field(o + 24, 4, "size"),
                localHeaderOffset: try field(o + 42, 4, "local header offset"))
            if entry.mode == 0 { entry.mode = nil }
            guard !entry.path.isEmpty, !entry.path.utf8.contains(0) else { throw bad("an entry has an empty name or a NUL in it") }
            var e = o + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = try field(e, 2, within: extraEnd, "extra field"), size = Int(try field(e + 2, 2, within: extraEnd, "extra field"))
                guard e + 4 + size <= extraEnd else { throw bad("an extra field runs past its entry") }
                if id == 1 {
                    var f = e + 4
                    let fieldEnd = e + 4 + size
                    if entry.uncompressedSize == 0xFFFF_FFFF { entry.uncompressedSize = try field(f, 8, within: fieldEnd, "zip64 size"); f += 8 }
                    if entry.compressedSize == 0xFFFF_FFFF { entry.compressedSize = try field(f, 8, within: fieldEnd, "zip64 size"); f += 8 }
                    if entry.localHeaderOffset == 0xFFFF_FFFF { entry.localHeaderOffset = try field(f, 8, within: fieldEnd, "zip64 offset") }
                }
                e += 4 + size
            }
            guard entry.compressedSize <= UInt64(bytes.count), entry.localHeaderOffset <= UInt64(bytes.count) else {
                throw bad("\(entry.path): its size or offset is beyond the file")
            }
            // deflate cannot expand more than about 1032 times; a larger claim is a bomb or a lie.
            guard entry.uncompressedSize <= max(entry.compressedSize, 1) &* 1032, entry.uncompressedSize <= 1 << 34 else {
                throw bad("\(entry.path): claims \(entry.uncompressedSize) bytes from \(entry.compressedSize)")
            }
            entries.append(entry)
            o = extraEnd + commentLength
        }
        return entries
    }

    /// The uncompressed bytes of an entry, checked against its CRC.
    func contents(of entry: Entry) throws -> [UInt8] {
        // Sizes and offsets were checked against the file when the directory was read.
        let o = Int(entry.localHeaderOffset)
        guard o <= data.count - 30 else { throw ZipError(path: path, message: "\(entry.path): bad local header offset") }
        let header = [UInt8](data[o..<(o + 30)])
        let nameLength = Int(header[26]) | Int(header[27]) << 8
        let extraLength = Int(header[28]) | Int(header[29]) << 8
        let start = o + 30 + nameLength + extraLength
        guard start <= data.count, Int(entry.compressedSize) <= data.count - start else {
            throw ZipError(path: path, message: "\(entry.path): data runs past the end of the file")
        }
        let end = start + Int(entry.compressedSize)
        guard entry.compressedSize <= UInt64(UInt32.max), entry.uncompressedSize <= UInt64(UInt32.max) else {
            throw ZipError(path: path, message: "\(entry.path): entries over 4 GiB are not read here")
        }
        let raw = [UInt8](data[start..<end])
        var out: [UInt8]
        switch entry.method {
        case 0: out = raw
        case 8: out = try inflateRaw(raw, expected: Int(entry.uncompressedSize), name: entry.path)
        default: throw ZipError(path: path, message: "\(entry.path): compression method \(entry.method) is not supported")
        }
        let crc = out.withUnsafeBytes { UInt32(truncatingIfNeeded: crc32(0, $0.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt($0.count))) }
        guard crc == entry.crc else { throw ZipError(path: path, message: "\(entry.path): CRC mismatch (corrupt zip)") }
        return out
    }

    private func inflateRaw(_ input: [UInt8], expected: Int, name: String) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ZipError(path: path, message: "\(name): cannot start inflate")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: max(expected, 1))
        let result: Int32 = input.withUnsafeBytes { inBuf in
            output.withUnsafeMutableBytes { outBuf in
                stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress?.assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = outBuf.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(outBuf.count)
                return inflate(&stream, Z_FINISH)
            }
        }
        guard result == Z_STREAM_END, Int(stream.total_out) == expected else {
            throw ZipError(path: path, message: "\(name): corrupt deflate data")
        }
        if expected == 0 { output = [] }
        return output
    }

    /// Extracts every entry below `folder`. Symlinks are created last, so no file is ever written
    /// through one; an entry whose path is absolute or climbs out with `..` is refused.
    func extract(into folder: String) throws {
        var links: [(String, String)] = []
        for entry in entries {
            let relative = try Self.safeRelativePath(entry.path, zip: path)
            if relative.isEmpty { continue }
            let target = folder + "/" + relative
            if entry.isDirectory {
                try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
                continue
            }
            let parent = (target as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            let bytes = try contents(of: entry)
            if entry.isSymlink {
                links.append((target, String(decoding: bytes, as: UTF8.self)))
                continue
            }
            // A workspace is scratch: one open, write and close per file — no temporary file, rename
            // or fsync (issue 12) — and never through a link.
            let fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o666)
            guard fd >= 0 else { throw ZipError(path: path, message: "\(entry.path): cannot write \(target): \(String(cString: strerror(errno)))") }
            var written = 0
            let complete = bytes.withUnsafeBytes { buffer -> Bool in
                while written < buffer.count {
                    let count = write(fd, buffer.baseAddress! + written, buffer.count - written)
                    if count < 0 && errno == EINTR { continue }
                    if count <= 0 { return false }
                    written += count
                }
                return true
            }
            let problem = complete ? nil : String(cString: strerror(errno))
            close(fd)
            if let problem { throw ZipError(path: path, message: "\(entry.path): cannot write \(target): \(problem)") }
            // As git checks out: executable or not, the rest as the umask says (a shared
            // repository's group keeps write access to workspaces).
            let executable = (entry.mode ?? 0) & 0o111 != 0
            chmod(target, (executable ? 0o777 : 0o666) & ~currentUmask)
        }
        for (target, destination) in links {
            if symlink(destination, target) != 0 {
                throw ZipError(path: path, message: "cannot create symlink \(target): \(String(cString: strerror(errno)))")
            }
        }
    }

    static func safeRelativePath(_ name: String, zip: String) throws -> String {
        if name.hasPrefix("/") || name.contains("\\") || name.contains("\0") {
            throw ZipError(path: zip, message: "entry `\(name)` has an absolute or unsafe path; refused")
        }
        let parts = name.split(separator: "/", omittingEmptySubsequences: true)
        if parts.contains("..") { throw ZipError(path: zip, message: "entry `\(name)` would escape the workspace (`..`); refused") }
        return parts.filter { $0 != "." }.joined(separator: "/")
    }
}

/// The process's umask (read by setting and restoring it; nothing else sets it concurrently).
var currentUmask: mode_t {
    let mask = umask(0)
    umask(mask)
    return mask
}
