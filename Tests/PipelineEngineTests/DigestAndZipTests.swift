import Foundation
@testable import PipelineEngine
import XCTest

final class DigestAndZipTests: XCTestCase {
    func testSHA256KnownVectors() {
        func hex(_ text: String) -> String { var h = SHA256(); h.update(Array(text.utf8)); return h.finalizeHex() }
        XCTAssertEqual(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex(String(repeating: "a", count: 1_000)), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        // Fed in odd pieces, the same digest.
        var pieces = SHA256()
        let data = Array(String(repeating: "0123456789", count: 100).utf8)
        for chunk in stride(from: 0, to: data.count, by: 37) { pieces.update(Array(data[chunk..<min(chunk + 37, data.count)])) }
        var whole = SHA256()
        whole.update(data)
        XCTAssertEqual(pieces.finalizeHex(), whole.finalizeHex())
    }

    func testZipRoundTripKeepsModesAndRefusesEscapes() throws {
        let folder = NSTemporaryDirectory() + "zip-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let zip = folder + "/a.zip"
        let writer = try ZipWriter(path: zip)
        let big = Array(String(repeating: "compressible line\n", count: 1000).utf8)
        try writer.add(.directory(path: "dir"))
        try big.withUnsafeBytes { try writer.add(.file(path: "dir/big.txt", mode: 0o100644, bytes: $0)) }
        try Array("#!/bin/sh\n".utf8).withUnsafeBytes { try writer.add(.file(path: "run.sh", mode: 0o100755, bytes: $0)) }
        try Array("dir/big.txt".utf8).withUnsafeBytes { try writer.add(.file(path: "link", mode: 0o120777, bytes: $0)) }
        _ = try writer.finish()

        let reader = try ZipReader(path: zip)
        XCTAssertEqual(reader.entries.map(\.path), ["dir/", "dir/big.txt", "run.sh", "link"])
        XCTAssertEqual(reader.entries[1].method, 8)
        try reader.extract(into: folder + "/out")
        XCTAssertEqual(FileManager.default.contents(atPath: folder + "/out/dir/big.txt"), Data(big))
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: folder + "/out/run.sh"))
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: folder + "/out/link"), "dir/big.txt")

        let evil = folder + "/evil.zip"
        let bad = try ZipWriter(path: evil)
        try Array("x".utf8).withUnsafeBytes { try bad.add(.file(path: "../escape.txt", mode: 0o100644, bytes: $0)) }
        _ = try bad.finish()
        XCTAssertThrowsError(try ZipReader(path: evil).extract(into: folder + "/evil")) { error in
            XCTAssertTrue("\(error)".contains("would escape the workspace"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/escape.txt"))
    }

    /// Entries many chunks long (deflated and stored) stream through in pieces and come out whole;
    /// a deflate stream cut short or a flipped byte is an error, not a short file called done.
    func testLargeEntriesStreamInChunksAndDamageIsCaught() throws {
        let folder = NSTemporaryDirectory() + "zip-stream-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<(3 * ZipReader.chunkSize + 123)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let text = Array((0..<200_000).map { "line \($0) of a long file\n" }.joined().utf8)
        XCTAssertGreaterThan(text.count, 8 * ZipReader.chunkSize)
        let zip = folder + "/big.zip"
        let writer = try ZipWriter(path: zip)
        try text.withUnsafeBytes { try writer.add(.file(path: "text.txt", mode: 0o100644, bytes: $0)) }
        try noise.withUnsafeBytes { try writer.add(.file(path: "noise.bin", mode: 0o100644, bytes: $0)) }
        _ = try writer.finish()
        let reader = try ZipReader(path: zip)
        XCTAssertGreaterThan(reader.entries[0].compressedSize, UInt64(ZipReader.chunkSize), "the deflated entry must span chunks")
        try reader.extract(into: folder + "/out")
        XCTAssertEqual(FileManager.default.contents(atPath: folder + "/out/text.txt"), Data(text))
        XCTAssertEqual(FileManager.default.contents(atPath: folder + "/out/noise.bin"), Data(noise))

        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: zip)))
        let entry = reader.entries[0]
        // A byte in the middle of the deflate data: a CRC or deflate error.
        bytes[Int(entry.localHeaderOffset) + 30 + 8 + Int(entry.compressedSize) / 2] ^= 0x55
        let damaged = folder + "/damaged.zip"
        try Data(bytes).write(to: URL(fileURLWithPath: damaged))
        XCTAssertThrowsError(try ZipReader(path: damaged).extract(into: folder + "/damaged")) { error in
            XCTAssertTrue("\(error)".contains("text.txt") && "\(error)".contains("corrupt"), "\(error)")
        }
    }

    func testPostReceiveInputParsing() {
        let zero = String(repeating: "0", count: 40), a = String(repeating: "a", count: 40)
        let parsed = RefUpdate.parse("\(zero) \(a) refs/heads/main\ngarbage\n\(a) \(zero) refs/heads/old\n")
        XCTAssertEqual(parsed.updates.count, 2)
        XCTAssertEqual(parsed.updates[0].ref, "refs/heads/main")
        XCTAssertTrue(parsed.updates[1].new.isZero)
        XCTAssertEqual(parsed.errors.count, 1)
    }
}
