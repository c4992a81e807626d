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

/// The sandbox's mounts, in the order bwrap needs them.
final class ActionSandboxTests: XCTestCase {
    func testTheStateIsHiddenAfterTheRepositoryIsShownAndTheWorkspaceBoundLast() {
        let folder = NSTemporaryDirectory() + "sandbox-\(UUID().uuidString)"
        let repository = folder + "/srv/app.git"
        try? FileManager.default.createDirectory(atPath: repository + "/pipeline/work/w", withIntermediateDirectories: true)
        try? FileManager.default.createDirectory(atPath: folder + "/home/.pyenv/shims", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let sandbox = ActionSandbox.forRepository(repository, stateFolder: repository + "/pipeline", home: folder + "/home",
                                                  path: folder + "/home/.pyenv/shims:" + folder + "/home:/usr/bin", writable: [repository + "/pipeline/work/w"], network: false)
        let args = sandbox.arguments(executable: "/bin/true", [])
        func index(_ pair: [String]) -> Int {
            (0..<(args.count - pair.count)).first { Array(args[$0..<($0 + pair.count)]) == pair } ?? -1
        }
        let hideNeighbours = index(["--tmpfs", folder + "/srv"])
        let showRepository = index(["--ro-bind", repository, repository])
        let hideState = index(["--tmpfs", repository + "/pipeline"])
        let bindWorkspace = index(["--bind", repository + "/pipeline/work/w", repository + "/pipeline/work/w"])
        XCTAssertTrue(hideNeighbours >= 0 && hideNeighbours < showRepository && showRepository < hideState && hideState < bindWorkspace, "\(args)")
        XCTAssertGreaterThan(index(["--tmpfs", folder + "/home"]), 0)
        XCTAssertGreaterThan(index(["--ro-bind", folder + "/home/.pyenv", folder + "/home/.pyenv"]), index(["--tmpfs", folder + "/home"]))
        XCTAssertEqual(Array(args.prefix(2)), ["--cap-drop", "ALL"])
        for flag in ["--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session"] { XCTAssertTrue(args.contains(flag), flag) }
        XCTAssertEqual(Array(args.suffix(2)), ["--", "/bin/true"])
    }
}
