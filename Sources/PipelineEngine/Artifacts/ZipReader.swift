import CZlib
import Foundation

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
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else { throw ZipError(path: path, message: "cannot read") }
        self.data = data
        entries = try Self.readCentralDirectory(data, path: path)
    }

    private static func readCentralDirectory(_ data: Data, path: String) throws -> [Entry] {
        let bytes = [UInt8](data)
        func u16(_ o: Int) -> UInt64 { UInt64(bytes[o]) | UInt64(bytes[o + 1]) << 8 }
        func u32(_ o: Int) -> UInt64 { u16(o) | u16(o + 2) << 16 }
        func u64(_ o: Int) -> UInt64 { u32(o) | u32(o + 4) << 32 }
        guard bytes.count >= 22 else { throw ZipError(path: path, message: "not a zip file (too short)") }
        var eocd = -1
        var i = bytes.count - 22
        while i >= max(0, bytes.count - 65_557) {
            if u32(i) == 0x0605_4b50 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw ZipError(path: path, message: "not a zip file (no end of central directory)") }
        var count = u16(eocd + 10)
        var offset = u32(eocd + 16)
        if eocd >= 20, u32(eocd - 20) == 0x0706_4b50 {
            let z = Int(u64(eocd - 20 + 8))
            guard z + 56 <= bytes.count, u32(z) == 0x0606_4b50 else { throw ZipError(path: path, message: "bad zip64 end record") }
            count = u64(z + 32)
            offset = u64(z + 48)
        }
        var entries: [Entry] = []
        var o = Int(offset)
        for _ in 0..<count {
            guard o + 46 <= bytes.count, u32(o) == 0x0201_4b50 else { throw ZipError(path: path, message: "bad central directory entry") }
            let madeBy = u16(o + 4) >> 8
            let nameLength = Int(u16(o + 28)), extraLength = Int(u16(o + 30)), commentLength = Int(u16(o + 32))
            guard o + 46 + nameLength + extraLength <= bytes.count else { throw ZipError(path: path, message: "truncated central directory") }
            var entry = Entry(
                path: String(decoding: bytes[(o + 46)..<(o + 46 + nameLength)], as: UTF8.self),
                mode: madeBy == 3 ? UInt32(u32(o + 38) >> 16) : nil,
                method: UInt16(u16(o + 10)), crc: UInt32(u32(o + 16)),
                compressedSize: u32(o + 20), uncompressedSize: u32(o + 24), localHeaderOffset: u32(o + 42))
            if entry.mode == 0 { entry.mode = nil }
            var e = o + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = u16(e), size = Int(u16(e + 2))
                if id == 1 {
                    var f = e + 4
                    if entry.uncompressedSize == 0xFFFF_FFFF { entry.uncompressedSize = u64(f); f += 8 }
                    if entry.compressedSize == 0xFFFF_FFFF { entry.compressedSize = u64(f); f += 8 }
                    if entry.localHeaderOffset == 0xFFFF_FFFF { entry.localHeaderOffset = u64(f) }
                }
                e += 4 + size
            }
            entries.append(entry)
            o = extraEnd + commentLength
        }
        return entries
    }

    /// The uncompressed bytes of an entry, checked against its CRC.
    func contents(of entry: Entry) throws -> [UInt8] {
        let o = Int(entry.localHeaderOffset)
        guard o + 30 <= data.count else { throw ZipError(path: path, message: "\(entry.path): bad local header offset") }
        let header = [UInt8](data[o..<(o + 30)])
        let nameLength = Int(header[26]) | Int(header[27]) << 8
        let extraLength = Int(header[28]) | Int(header[29]) << 8
        let start = o + 30 + nameLength + extraLength
        let end = start + Int(entry.compressedSize)
        guard end <= data.count else { throw ZipError(path: path, message: "\(entry.path): data runs past the end of the file") }
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
            guard FileManager.default.createFile(atPath: target, contents: Data(bytes)) else {
                throw ZipError(path: path, message: "\(entry.path): cannot write \(target)")
            }
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
