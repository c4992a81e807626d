@testable import HookClient
import XCTest

/// The hook reads git's input as bytes: what it takes from it must be what git meant.
final class HookWireTests: XCTestCase {
    let a = String(repeating: "a", count: 40), b = String(repeating: "b", count: 40)

    func testRefLinesAreReadAsGitWritesThem() {
        let input = "\(a) \(b) refs/heads/main\n\(b) \(a) refs/tags/v1.0\n"
        XCTAssertEqual(HookWire.refUpdates(Array(input.utf8)), [
            HookWire.RefLine(old: a, new: b, ref: "refs/heads/main"),
            HookWire.RefLine(old: b, new: a, ref: "refs/tags/v1.0"),
        ])
    }

    func testSHA256IdsAndACarriageReturnAndNoFinalNewline() {
        let long = String(repeating: "c", count: 64), other = String(repeating: "d", count: 64)
        XCTAssertEqual(HookWire.refUpdates(Array("\(long) \(other) refs/heads/x\r\n\(a) \(b) refs/heads/é".utf8)), [
            HookWire.RefLine(old: long, new: other, ref: "refs/heads/x"),
            HookWire.RefLine(old: a, new: b, ref: "refs/heads/é"),
        ])
    }

    func testMalformedLinesAreSkipped() {
        let input = "\n\(a) refs/heads/only-two\n\(a) \(String(b.prefix(39))) refs/heads/short\nnot a line at all\n\(a) \(b) refs/heads/ok\n"
        XCTAssertEqual(HookWire.refUpdates(Array(input.utf8)).map(\.ref), ["refs/heads/ok"])
    }

    func testAJournalLineNeverSpansTwoLines() {
        let line = HookWire.journalLine(kind: "D", id: "12-34", update: HookWire.RefLine(old: a, new: b, ref: "refs/heads/main"), pusher: "eve\nD 1-1 x")
        XCTAssertEqual(line, "D 12-34 \(a) \(b) refs/heads/main eve D 1-1 x\n")
    }
}
