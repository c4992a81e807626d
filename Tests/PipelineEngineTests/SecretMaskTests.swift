import Foundation
import XCTest
@testable import PipelineEngine

/// Masking secrets (issue 11): every form, in a stream cut anywhere.
final class SecretMaskTests: XCTestCase {
    func testWholeValueEachLineAndJSONForm() {
        let mask = SecretMask(["p@ss\"word", "line-one\nline-two\n}"])
        XCTAssertEqual(mask.apply("x p@ss\"word y"), "x *** y")
        XCTAssertEqual(mask.apply(#"{"v":"p@ss\"word"}"#), #"{"v":"***"}"#)
        XCTAssertEqual(mask.apply("a line-one b"), "a *** b")
        XCTAssertEqual(mask.apply("line-one\nline-two\n}"), "***")
        XCTAssertEqual(mask.apply("} {"), "} {", "a line of one character is not masked alone")
        XCTAssertTrue(mask.contains("prefix-line-two"))
        XCTAssertFalse(mask.contains("nothing here"))
    }

    /// The pump, fed through a real pipe in pieces cut at every position, writes the same log as
    /// masking the whole text at once.
    func testAStreamCutAnywhereIsMaskedAsTheWhole() throws {
        let secret = "s3cr3t-VALUE"
        let text = "begin " + String(repeating: "a", count: 70_000) + secret + " middle " + secret + "\nend " + secret
        let expected = SecretMask([secret]).apply(text)
        for cut in [1, 3, 6, 11, 4096, 65_536, 70_003] {
            let folder = NSTemporaryDirectory() + "mask-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            var fds: [Int32] = [0, 0]
            XCTAssertEqual(pipe(&fds), 0)
            let pump = OutputPump(descriptor: fds[0], logPath: folder + "/log", mask: [secret])
            let bytes = Array(text.utf8)
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + cut)
                bytes[offset..<end].withUnsafeBytes { _ = write(fds[1], $0.baseAddress, $0.count) }
                offset = end
                if cut < 20 && offset < 200 { usleep(1000) }  // separate reads
            }
            close(fds[1])
            pump.drain()
            XCTAssertEqual(try String(contentsOfFile: folder + "/log", encoding: .utf8), expected, "cut every \(cut) bytes")
        }
    }
}
