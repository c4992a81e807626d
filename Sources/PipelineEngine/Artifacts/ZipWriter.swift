import CZlib
import Foundation

/// An error reading or writing a zip, with the file it concerns.
public struct ZipError: Error, CustomStringConvertible {
    public let path: String
    public let message: String
    public var description: String { "\(path): \(message)" }
}

/// Writes all of `bytes` to `fd`, again after a short write or EINTR; false (errno says why) when
/// the system refuses.
func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    var done = 0
    while done < bytes.count {
        let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return false }
        done += n
    }
    return true
}

/// A file written through a buffer, hashed (SHA-256) as it goes.
final class HashingFileOutput {
    private let fd: Int32
    let path: String
    private var buffer: [UInt8] = []
    private(set) var offset: UInt64 = 0
    private var hasher = SHA256()

    init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)  // the umask decides (shared repositories)
        guard fd >= 0 else { throw ZipError(path: path, message: "cannot create: \(String(cString: strerror(errno)))") }
        buffer.reserveCapacity(1 << 20)
    }

    deinit { close(fd) }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bytes)
        offset += UInt64(bytes.count)
        if buffer.count + bytes.count > (1 << 20) { try flush() }
        if bytes.count >= (1 << 20) { try writeAll(bytes); return }
        buffer.append(contentsOf: bytes)
    }

    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard writeFully(fd, bytes) else { throw ZipError(path: path, message: "write failed: \(String(cString: strerror(errno)))") }
    }

    /// Flushes, syncs, and returns the SHA-256 of everything written.
    func finish() throws -> String {
        try flush()
        fsync(fd)
        return hasher.finalizeHex()
    }
}

/// One zip entry ready to be written: compressed (or stored) bytes with their checksum.
struct PreparedZipEntry {
    var path: String
    /// Full Unix mode, file type bits included (0o100644, 0o100755, 0o120777, 0o040755).
    var mode: UInt32
    var method: UInt16
    var crc: UInt32
    var uncompressedSize: UInt64
    var data: [UInt8]

    var isDirectory: Bool { mode & 0o170000 == 0o040000 }

    /// Deflates `bytes` (raw deflate, zlib's default level), keeping them stored when that is smaller,
    /// as `git archive` does. A `deflater` per thread saves zlib's setup for every file.
    static func file(path: String, mode: UInt32, bytes: UnsafeRawBufferPointer, deflater: Deflater? = nil) -> PreparedZipEntry {
        let crc = UInt32(truncatingIfNeeded: crc32(0, bytes.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(bytes.count)))
        var entry = PreparedZipEntry(path: path, mode: mode, method: 0, crc: crc, uncompressedSize: UInt64(bytes.count), data: [])
        if bytes.count > 0, mode & 0o170000 == 0o100000, let deflated = (deflater ?? Deflater()).deflate(bytes), deflated.count < bytes.count {
            entry.method = 8
            entry.data = deflated
        } else {
            entry.data = Array(bytes)
        }
        return entry
    }

    static func directory(path: String) -> PreparedZipEntry {
        PreparedZipEntry(path: path.hasSuffix("/") ? path : path + "/", mode: 0o040755, method: 0, crc: 0, uncompressedSize: 0, data: [])
    }
}

/// A raw-deflate stream (zlib's default level) reused from file to file with deflateReset, which
/// costs far less than a new deflateInit for each of thousands of small files. One per thread.
final class Deflater {
    private var stream = z_stream()
    private let ready: Bool

    init() {
        ready = deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK
    }

    deinit { if ready { deflateEnd(&stream) } }

    func deflate(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        guard ready, deflateReset(&stream) == Z_OK else { return nil }
        let bound = Int(deflateBound(&stream, uLong(input.count)))
        var output = [UInt8](repeating: 0, count: bound)
        let produced: Int? = output.withUnsafeMutableBytes { out in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(input.count)
            stream.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(bound)
            guard CZlib.deflate(&stream, Z_FINISH) == Z_STREAM_END else { return nil }
            return Int(stream.total_out)
        }
        guard let produced else { return nil }
        output.removeSubrange(produced...)
        return output
    }
}

/// Writes a zip as a stream: each entry's local header and data go out as they come; only the
/// central directory (a few dozen bytes an entry) is kept until the end. Timestamps are fixed
/// (1980-01-01 00:00), so the bytes are a pure function of the entries. Zip64 where sizes need it.
final class ZipWriter {
    private let output: HashingFileOutput
    private var central: [UInt8] = []
    private var count: UInt64 = 0
    private static let dosTime: UInt16 = 0
    private static let dosDate: UInt16 = (0 << 9) | (1 << 5) | 1
    private static let max32: UInt64 = 0xFFFF_FFFF

    init(path: String) throws { output = try HashingFileOutput(path: path) }

    func add(_ entry: PreparedZipEntry) throws {
        let offset = output.offset
        let name = Array(entry.path.utf8)
        let flags: UInt16 = name.contains(where: { $0 >= 0x80 }) ? 0x0800 : 0
        let compressedSize = UInt64(entry.data.count)
        let needs64 = entry.uncompressedSize >= Self.max32 || compressedSize >= Self.max32
        let version: UInt16 = needs64 ? 45 : (entry.method == 8 || entry.isDirectory ? 20 : 10)

        var local: [UInt8] = []
        local.reserveCapacity(30 + name.count + 20)
        local.le32(0x0403_4b50); local.le16(version); local.le16(flags); local.le16(entry.method)
        local.le16(Self.dosTime); local.le16(Self.dosDate); local.le32(entry.crc)
        local.le32(needs64 ? UInt32(Self.max32) : UInt32(compressedSize))
        local.le32(needs64 ? UInt32(Self.max32) : UInt32(entry.uncompressedSize))
        local.le16(UInt16(name.count)); local.le16(needs64 ? 20 : 0)
        local += name
        if needs64 { local.le16(1); local.le16(16); local.le64(entry.uncompressedSize); local.le64(compressedSize) }
        try output.write(local)
        try output.write(entry.data)

        var extra: [UInt8] = []
        if entry.uncompressedSize >= Self.max32 { extra.le64(entry.uncompressedSize) }
        if compressedSize >= Self.max32 { extra.le64(compressedSize) }
        if offset >= Self.max32 { extra.le64(offset) }
        if !extra.isEmpty { extra = [0x01, 0x00] + [UInt8(extra.count), 0] + extra }
        central.le32(0x0201_4b50)
        central.le16(0x031E)  // made by: Unix (3), spec 3.0, so the external attributes carry the mode
        central.le16(extra.isEmpty ? version : 45); central.le16(flags); central.le16(entry.method)
        central.le16(Self.dosTime); central.le16(Self.dosDate); central.le32(entry.crc)
        central.le32(UInt32(min(compressedSize, Self.max32))); central.le32(UInt32(min(entry.uncompressedSize, Self.max32)))
        central.le16(UInt16(name.count)); central.le16(UInt16(extra.count)); central.le16(0)
        central.le16(0); central.le16(0)
        central.le32(entry.mode << 16 | (entry.isDirectory ? 0x10 : 0))
        central.le32(UInt32(min(offset, Self.max32)))
        central += name
        central += extra
        count += 1
    }

    /// Writes the central directory and returns the SHA-256 of the whole file.
    func finish() throws -> String {
        let start = output.offset
        try output.write(central)
        let size = UInt64(central.count)
        central = []
        var end: [UInt8] = []
        if count >= 0xFFFF || start >= Self.max32 || size >= Self.max32 {
            let zip64Offset = output.offset
            end.le32(0x0606_4b50); end.le64(44); end.le16(45); end.le16(45); end.le32(0); end.le32(0)
            end.le64(count); end.le64(count); end.le64(size); end.le64(start)
            end.le32(0x0706_4b50); end.le32(0); end.le64(zip64Offset); end.le32(1)
        }
        end.le32(0x0605_4b50); end.le16(0); end.le16(0)
        end.le16(UInt16(min(count, 0xFFFF))); end.le16(UInt16(min(count, 0xFFFF)))
        end.le32(UInt32(min(size, Self.max32))); end.le32(UInt32(min(start, Self.max32))); end.le16(0)
        try output.write(end)
        return try output.finish()
    }
}

extension Array where Element == UInt8 {
    mutating func le16(_ v: UInt16) { append(UInt8(v & 0xff)); append(UInt8(v >> 8)) }
    mutating func le32(_ v: UInt32) { for s in stride(from: 0, to: 32, by: 8) { append(UInt8((v >> UInt32(s)) & 0xff)) } }
    mutating func le64(_ v: UInt64) { for s in stride(from: 0, to: 64, by: 8) { append(UInt8((v >> UInt64(s)) & 0xff)) } }
}
