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
/// land outside that folder (absolute paths, `..`, writes through a symlink). The file is read
/// where it lies: the directory once, then each entry's bytes in chunks inflated as they stream to
/// their file, so memory is bounded by the directory and a chunk, never by the zip or an entry.
final class ZipReader {
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

    /// Where the bytes come from: a file read with pread, or bytes in memory (the fuzz target).
    private enum Source {
        case file(Int32)
        case memory([UInt8])
    }

    let path: String
    private(set) var entries: [Entry] = []
    private let source: Source
    private let size: UInt64
    /// Bytes read from the zip per step while an entry streams.
    static let chunkSize = 256 << 10

    convenience init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ZipError(path: path, message: "cannot read: \(String(cString: strerror(errno)))") }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw ZipError(path: path, message: "cannot read: \(String(cString: strerror(errno)))")
        }
        try self.init(source: .file(fd), size: UInt64(info.st_size), path: path)
    }

    convenience init(data: Data, path: String) throws {
        try self.init(source: .memory([UInt8](data)), size: UInt64(data.count), path: path)
    }

    private init(source: Source, size: UInt64, path: String) throws {
        self.path = path
        self.source = source
        self.size = size
        entries = try readCentralDirectory()
    }

    deinit {
        if case .file(let fd) = source { close(fd) }
    }

    /// `count` bytes at `offset` (fewer at the end of the file).
    private func read(at offset: UInt64, count: Int) throws -> [UInt8] {
        guard offset <= size else { return [] }
        let count = Int(min(UInt64(count), size - offset))
        switch source {
        case .memory(let bytes): return Array(bytes[Int(offset)..<(Int(offset) + count)])
        case .file(let fd):
            var buffer = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw ZipError(path: path, message: "cannot read: \(n < 0 ? String(cString: strerror(errno)) : "the file is shorter than it was")") }
                done += n
            }
            return buffer
        }
    }

    private func bad(_ what: String) -> ZipError { ZipError(path: path, message: "malformed zip: \(what)") }

    /// A little-endian field of `width` bytes at `offset` of `bytes`, which must lie inside `limit`.
    private func field(_ bytes: [UInt8], _ offset: Int, _ width: Int, within limit: Int? = nil, _ what: String) throws -> UInt64 {
        let end = limit ?? bytes.count
        guard offset >= 0, width <= 8, offset <= end - width else { throw bad("\(what) lies past the end") }
        var value: UInt64 = 0
        for index in 0..<width { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        return value
    }

    /// The central directory. A zip may come from an action (untrusted): every offset, size, count
    /// and zip64 field is checked against the file before it is used, and a bad one is an error,
    /// never a trap.
    private func readCentralDirectory() throws -> [Entry] {
        guard size >= 22 else { throw ZipError(path: path, message: "not a zip file (too short)") }
        // The end record lies in the last 64 KiB + 22 bytes (its comment is at most 65535 bytes);
        // 20 more hold a zip64 locator just before it.
        let tailStart = size - min(size, 65_557 + 20)
        let tail = try read(at: tailStart, count: Int(size - tailStart))
        var eocd = -1
        var i = tail.count - 22
        while i >= max(0, tail.count - 65_557) {
            if try field(tail, i, 4, "end record") == 0x0605_4b50 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw ZipError(path: path, message: "not a zip file (no end of central directory)") }
        var count = try field(tail, eocd + 10, 2, "entry count")
        var offset = try field(tail, eocd + 16, 4, "central directory offset")
        let directoryEnd = tailStart + UInt64(eocd)
        if eocd >= 20, try field(tail, eocd - 20, 4, "zip64 locator") == 0x0706_4b50 {
            let z = try field(tail, eocd - 20 + 8, 8, "zip64 end record offset")
            guard z <= size else { throw bad("zip64 end record offset \(z) is beyond the file's \(size) bytes") }
            let record = try read(at: z, count: 56)
            guard try field(record, 0, 4, "zip64 end record") == 0x0606_4b50 else { throw bad("no zip64 end record where the locator says") }
            count = try field(record, 32, 8, "zip64 entry count")
            offset = try field(record, 48, 8, "zip64 central directory offset")
        }
        guard offset <= directoryEnd else { throw bad("central directory offset \(offset) is beyond the file's \(size) bytes") }
        let directory = try read(at: offset, count: Int(directoryEnd - offset))
        // Each entry takes at least 46 bytes: a count the directory cannot hold is a lie.
        guard count <= UInt64(directory.count / 46) else { throw bad("\(count) entries cannot fit in \(directory.count) bytes") }
        var entries: [Entry] = []
        entries.reserveCapacity(Int(count))
        let d = directory
        var o = 0
        for _ in 0..<Int(count) {
            guard try field(d, o, 4, "central directory entry") == 0x0201_4b50 else { throw bad("bad central directory entry") }
            let madeBy = try field(d, o + 4, 2, "entry") >> 8
            let nameLength = Int(try field(d, o + 28, 2, "name length")), extraLength = Int(try field(d, o + 30, 2, "extra length"))
            let commentLength = Int(try field(d, o + 32, 2, "comment length"))
            guard o + 46 + nameLength + extraLength + commentLength <= d.count else { throw bad("truncated central directory") }
            var entry = Entry(
                path: String(decoding: d[(o + 46)..<(o + 46 + nameLength)], as: UTF8.self),
                mode: madeBy == 3 ? UInt32(try field(d, o + 38, 4, "attributes") >> 16) : nil,
                method: UInt16(try field(d, o + 10, 2, "method")), crc: UInt32(try field(d, o + 16, 4, "crc")),
                compressedSize: try field(d, o + 20, 4, "size"), uncompressedSize: try field(d, o + 24, 4, "size"),
                localHeaderOffset: try field(d, o + 42, 4, "local header offset"))
            if entry.mode == 0 { entry.mode = nil }
            guard !entry.path.isEmpty, !entry.path.utf8.contains(0) else { throw bad("an entry has an empty name or a NUL in it") }
            var e = o + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = try field(d, e, 2, within: extraEnd, "extra field"), size = Int(try field(d, e + 2, 2, within: extraEnd, "extra field"))
                guard e + 4 + size <= extraEnd else { throw bad("an extra field runs past its entry") }
                if id == 1 {
                    var f = e + 4
                    let fieldEnd = e + 4 + size
                    if entry.uncompressedSize == 0xFFFF_FFFF { entry.uncompressedSize = try field(d, f, 8, within: fieldEnd, "zip64 size"); f += 8 }
                    if entry.compressedSize == 0xFFFF_FFFF { entry.compressedSize = try field(d, f, 8, within: fieldEnd, "zip64 size"); f += 8 }
                    if entry.localHeaderOffset == 0xFFFF_FFFF { entry.localHeaderOffset = try field(d, f, 8, within: fieldEnd, "zip64 offset") }
                }
                e += 4 + size
            }
            guard entry.compressedSize <= size, entry.localHeaderOffset <= size else {
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

    /// Streams an entry's uncompressed bytes to `sink` in chunks, then checks their length and
    /// CRC against the directory's; a mismatch is an error after the last chunk.
    func stream(_ entry: Entry, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        // Sizes and offsets were checked against the file when the directory was read.
        let header = try read(at: entry.localHeaderOffset, count: 30)
        guard header.count == 30, try field(header, 0, 4, "local header") == 0x0403_4b50 else {
            throw ZipError(path: path, message: "\(entry.path): bad local header")
        }
        let nameLength = UInt64(header[26]) | UInt64(header[27]) << 8
        let extraLength = UInt64(header[28]) | UInt64(header[29]) << 8
        let start = entry.localHeaderOffset + 30 + nameLength + extraLength
        guard start <= size, entry.compressedSize <= size - start else {
            throw ZipError(path: path, message: "\(entry.path): data runs past the end of the file")
        }
        var crc: UInt = 0
        var produced: UInt64 = 0
        func emit(_ bytes: UnsafeRawBufferPointer) throws {
            guard !bytes.isEmpty else { return }
            produced += UInt64(bytes.count)
            guard produced <= entry.uncompressedSize else { throw ZipError(path: path, message: "\(entry.path): more data than its size says (corrupt zip)") }
            crc = CZlib.crc32(crc, bytes.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(bytes.count))
            try sink(bytes)
        }
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.uncompressedSize else { throw ZipError(path: path, message: "\(entry.path): stored sizes differ (corrupt zip)") }
            var offset: UInt64 = 0
            while offset < entry.compressedSize {
                let chunk = try read(at: start + offset, count: Int(min(UInt64(Self.chunkSize), entry.compressedSize - offset)))
                try chunk.withUnsafeBytes { try emit($0) }
                offset += UInt64(chunk.count)
            }
        case 8:
            try inflateRaw(entry, from: start, emit)
        default: throw ZipError(path: path, message: "\(entry.path): compression method \(entry.method) is not supported")
        }
        guard produced == entry.uncompressedSize else { throw ZipError(path: path, message: "\(entry.path): corrupt deflate data") }
        guard UInt32(truncatingIfNeeded: crc) == entry.crc else { throw ZipError(path: path, message: "\(entry.path): CRC mismatch (corrupt zip)") }
    }

    private func inflateRaw(_ entry: Entry, from start: UInt64, _ emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ZipError(path: path, message: "\(entry.path): cannot start inflate")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Self.chunkSize)
        var offset: UInt64 = 0
        var ended = false
        while !ended {
            let input = try read(at: start + offset, count: Int(min(UInt64(Self.chunkSize), entry.compressedSize - offset)))
            offset += UInt64(input.count)
            let last = offset >= entry.compressedSize
            try input.withUnsafeBytes { inBuf in
                stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress?.assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(inBuf.count)
                repeat {
                    let (result, count) = output.withUnsafeMutableBytes { outBuf -> (Int32, Int) in
                        stream.next_out = outBuf.baseAddress!.assumingMemoryBound(to: Bytef.self)
                        stream.avail_out = uInt(outBuf.count)
                        let result = inflate(&stream, Z_NO_FLUSH)
                        return (result, outBuf.count - Int(stream.avail_out))
                    }
                    try output.withUnsafeBytes { try emit(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                    if result == Z_STREAM_END { ended = true; return }
                    // Z_BUF_ERROR: no progress possible without more input (past the last chunk:
                    // the data is cut short, caught below).
                    guard result == Z_OK || (result == Z_BUF_ERROR && stream.avail_in == 0) else {
                        throw ZipError(path: path, message: "\(entry.path): corrupt deflate data")
                    }
                } while stream.avail_in > 0 || stream.avail_out == 0
            }
            if !ended && last { throw ZipError(path: path, message: "\(entry.path): corrupt deflate data") }
        }
    }

    /// The uncompressed bytes of an entry, checked against its CRC (small entries: link targets,
    /// the fuzz target).
    func contents(of entry: Entry) throws -> [UInt8] {
        var out: [UInt8] = []
        try stream(entry) { out.append(contentsOf: $0) }
        return out
    }

    /// Extracts every entry below `folder`. Symlinks are created last, so no file is ever written
    /// through one; an entry whose path is absolute or climbs out with `..` is refused.
    func extract(into folder: String) throws {
        var links: [(String, String)] = []
        var made: Set<String> = []
        func makeFolder(_ target: String) throws {
            guard !made.contains(target) else { return }
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            made.insert(target)
        }
        try makeFolder(folder)
        for entry in entries {
            let relative = try Self.safeRelativePath(entry.path, zip: path)
            if relative.isEmpty { continue }
            let target = folder + "/" + relative
            if entry.isDirectory {
                try makeFolder(target)
                continue
            }
            try makeFolder((target as NSString).deletingLastPathComponent)
            if entry.isSymlink {
                guard entry.uncompressedSize <= 4096 else { throw ZipError(path: path, message: "\(entry.path): a link target of \(entry.uncompressedSize) bytes") }
                links.append((target, String(decoding: try contents(of: entry), as: UTF8.self)))
                continue
            }
            // A workspace is scratch: one open, write and close per file — no temporary file, rename
            // or fsync (issue 12) — and never through a link. As git checks out: executable or
            // not, the rest as the umask says (a shared repository's group keeps write access).
            let executable = (entry.mode ?? 0) & 0o111 != 0
            let fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, executable ? 0o777 : 0o666)
            guard fd >= 0 else { throw ZipError(path: path, message: "\(entry.path): cannot write \(target): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            try stream(entry) { buffer in
                guard writeFully(fd, buffer) else {
                    throw ZipError(path: path, message: "\(entry.path): cannot write \(target): \(String(cString: strerror(errno)))")
                }
            }
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
