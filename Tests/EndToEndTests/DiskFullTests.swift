import Foundation
import XCTest

/// A full disk mid-action: the execution ends Failed with the cause, nothing stays InProgress,
/// and once space is freed the next push works and nothing is corrupt.
final class DiskFullTests: XCTestCase {
    func testADiskFullMidActionFailsTheExecutionWithTheCauseAndBreaksNothing() throws {
        guard getuid() == 0 else { print("DiskFullTests: skipped: mounting a small tmpfs needs root"); return }
        let box = try Sandbox(install: false)
        let small = box.root + "/small"
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        try box.run("/bin/mount", ["-t", "tmpfs", "-o", "size=24m", "tmpfs", small])
        defer {
            _ = try? Sandbox.runQuietly("/usr/bin/pkill", ["-KILL", "-f", "runner --git-dir \(small)"])
            _ = try? Sandbox.runQuietly("/bin/umount", ["-l", small])
        }
        let server = small + "/app.git"
        try box.git(["init", "-q", "--bare", "-b", "main", server], in: small)
        try box.run(Sandbox.binary, ["install", server])
        try box.git(["config", "pipeline.runnerIdleSeconds", "30"], in: server)
        try box.git(["remote", "set-url", "origin", server])
        let fill = Fixture.pipeline(stages: Fixture.stage("Build", Fixture.commands("Fill", ["head -c 64M /dev/zero > fill || true", "echo after the fill"])),
                                    Fixture.shipStage)
        let first = try box.commit("fill the disk", files: [".pipeline.yml": fill])
        try box.push()
        // The action fills the disk; give git-pipeline's own writes time to fail.
        let workspace = server + "/pipeline/work"
        let deadline = Date().addingTimeInterval(30)
        var filled: String?
        while filled == nil && Date() < deadline {
            filled = try box.run("find", [workspace, "-name", "fill", "-size", "+1M"], allowFailure: true).stdout
                .split(separator: "\n").first.map(String.init)
            usleep(100_000)
        }
        let full = try XCTUnwrap(filled, "the action never filled the disk")
        sleep(2)
        try FileManager.default.removeItem(atPath: full)
        // With room again, the execution ends Failed, saying why, in the store and in the note.
        var status = "", summary = "", note = ""
        let ended = Date().addingTimeInterval(40)
        while Date() < ended {
            let shown = try JSONSerialization.jsonObject(with: Data(try box.run(Sandbox.binary, ["show", "app#1", "--json", "--git-dir", server]).stdout.utf8)) as? [String: Any]
            let execution = shown?["pipelineExecution"] as? [String: Any]
            status = execution?["status"] as? String ?? ""
            summary = (execution?["statusSummary"] as? String ?? "") + " " + String(describing: shown?["stageStates"] ?? "")
            note = try box.git(["notes", "--ref=ci", "show", first], in: server, allowFailure: true).stdout
            if status == "Failed" && note.hasPrefix("app #1 Failed") { break }
            usleep(200_000)
        }
        XCTAssertEqual(status, "Failed", summary)
        XCTAssertTrue(summary.contains("No space left on device") && summary.contains(server + "/pipeline"), summary)
        XCTAssertTrue(note.hasPrefix("app #1 Failed") && note.contains("No space left on device"), note)
        let inProgress = try box.run("python3", ["-c", """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            print(db.execute("PRAGMA integrity_check").fetchone()[0])
            print(db.execute("SELECT COUNT(*) FROM executions WHERE status IN ('InProgress', 'Stopping')").fetchone()[0] +
                  db.execute("SELECT COUNT(*) FROM actions WHERE status = 'InProgress'").fetchone()[0])
            """, server + "/pipeline/state.sqlite"]).stdout
        XCTAssertEqual(inProgress, "ok\n0\n")
        // The next push works, and the repository is whole.
        let second = try box.commit("no fill", files: [".pipeline.yml": Sandbox.quickPipeline()])
        XCTAssertEqual(try box.push().status, 0)
        var last = ""
        let again = Date().addingTimeInterval(30)
        while !last.hasPrefix("app #2 Succeeded") && Date() < again {
            last = try box.git(["notes", "--ref=ci", "show", second], in: server, allowFailure: true).stdout
            usleep(100_000)
        }
        XCTAssertTrue(last.hasPrefix("app #2 Succeeded"), last)
        XCTAssertEqual(try box.git(["fsck", "--no-progress"], in: server, allowFailure: true).status, 0)
    }
}
