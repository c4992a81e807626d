import Foundation
import XCTest
@testable import PipelineEngine

/// Every input the fuzzers (`make fuzz`) ever found, and the crafted ones of issue 11, run again
/// through the same entry point: each must end in an error (or a result), never a trap.
final class FuzzRegressionTests: XCTestCase {
    static var folder: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz/regressions").path
    }

    func testEveryZipFindingIsRefusedWithAnError() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.folder + "/zip")
        XCTAssertFalse(files.isEmpty)
        for file in files {
            let data = try XCTUnwrap(FileManager.default.contents(atPath: Self.folder + "/zip/" + file))
            XCTAssertThrowsError(try ZipReader(data: data, path: file), file)
            ZipFuzzing.read(data)
        }
    }
}
