import Foundation
import XCTest
@testable import PipelineEngine

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
