import Foundation
@testable import PipelineEngine
import XCTest

/// Zips an action could have written: every malformed structure is an error, never a trap.
final class MalformedZipTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "malformed-zip-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    func write(_ bytes: [UInt8], _ name: String = "bad.zip") throws -> String {
        let path = folder + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func le(_ value: UInt64, _ width: Int) -> [UInt8] { (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) } }

    /// A zip64 locator and end record pointing where `offset` says, then an end record.
    func zip64(offset: UInt64, count: UInt64 = 1) -> [UInt8] {
        let record: [UInt8] = le(0x0606_4b50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4) + le(count, 8) + le(count, 8) + le(0, 8) + le(offset, 8)
        let locator: [UInt8] = le(0x0706_4b50, 4) + le(0, 4) + le(0, 8) + le(1, 4)
        let end: [UInt8] = le(0x0605_4b50, 4) + le(0, 4) + le(0xFFFF, 2) + le(0xFFFF, 2) + le(0xFFFF_FFFF, 4) + le(0xFFFF_FFFF, 4) + le(0, 2)
        return record + locator + end
    }

    func testTheReproductionsAreErrors() throws {
        // #11's 42-byte record: a zip64 locator whose offset is 0xFFFFFFFFFFFFFFF0.
        let locator: [UInt8] = le(0x0706_4b50, 4) + le(0, 4) + le(0xFFFF_FFFF_FFFF_FFF0, 8) + le(1, 4)
        let end: [UInt8] = le(0x0605_4b50, 4) + le(0, 4) + le(1, 2) + le(1, 2) + le(0, 4) + le(0, 4) + le(0, 2)
        XCTAssertEqual((locator + end).count, 42)
        XCTAssertThrowsError(try ZipReader(path: try write(locator + end))) { XCTAssertTrue("\($0)".contains("malformed zip"), "\($0)") }
        // A central directory far past the end, and an entry count no file could hold.
        XCTAssertThrowsError(try ZipReader(path: try write(zip64(offset: 0x7FFF_FFFF_FFFF_FFFF))))
        XCTAssertThrowsError(try ZipReader(path: try write(zip64(offset: 0, count: UInt64.max))))
        XCTAssertThrowsError(try ZipReader(path: try write(Array(repeating: 0x50, count: 10))))
    }

    /// Random damage to a real zip: each result parses and extracts, or throws; nothing traps (a
    /// trap would end the test process).
    func testThousandsOfDamagedZipsNeverTrap() throws {
        let good = folder + "/good.zip"
        let writer = try ZipWriter(path: good)
        try writer.add(.directory(path: "d"))
        try Array(String(repeating: "line of text\n", count: 200).utf8).withUnsafeBytes { try writer.add(.file(path: "d/a.txt", mode: 0o100644, bytes: $0)) }
        try Array("x".utf8).withUnsafeBytes { try writer.add(.file(path: "b", mode: 0o100755, bytes: $0)) }
        _ = try writer.finish()
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good)))
        var generator = SystemRandomNumberGenerator()
        var rejected = 0
        for round in 0..<3000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                // Bytes near the end hold the directory: damage them more often.
                let target = Bool.random(using: &generator) ? index : max(0, bytes.count - 1 - Int.random(in: 0..<min(120, bytes.count), using: &generator))
                bytes[target] = [0x00, 0xFF, UInt8.random(in: 0...255, using: &generator)].randomElement(using: &generator)!
            }
            if round % 7 == 0 { bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &generator))) }
            let path = try write(bytes, "damaged.zip")
            do {
                try ZipReader(path: path).extract(into: folder + "/out\(round % 4)")
            } catch {
                rejected += 1
            }
        }
        XCTAssertGreaterThan(rejected, 1000, "the damage should be noticed")
    }
}
