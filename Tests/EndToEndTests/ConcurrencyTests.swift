import Foundation
import XCTest

final class ConcurrencyTests: XCTestCase {
    func testTenClientsPushingAtOnceLoseNothing() throws {
        let box = try Sandbox()
        let definition = Sandbox.quickPipeline("echo $PIPELINE_BRANCH")
        try box.commit("base", files: [".pipeline.yml": definition])
        try box.push()
        let clients = (0..<10).map { box.root + "/client\($0)" }
        for (index, folder) in clients.enumerated() {
            try box.git(["clone", "-q", box.server, folder], in: box.root)
            try box.git(["checkout", "-q", "-b", "b\(index)"], in: folder)
        }
        // @unchecked: every access holds `lock`.
        final class Collected: @unchecked Sendable {
            let lock = NSLock()
            var commits: [String] = []
            var failures: [String] = []
        }
        let collected = Collected()
        DispatchQueue.concurrentPerform(iterations: clients.count) { index in
            let folder = clients[index]
            for round in 0..<5 {
                do {
                    try "\(index) \(round)\n".write(toFile: folder + "/f.txt", atomically: true, encoding: .utf8)
                    try box.git(["add", "-A"], in: folder)
                    try box.git(["commit", "-q", "-m", "client \(index) round \(round)"], in: folder)
                    let commit = try box.git(["rev-parse", "HEAD"], in: folder).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                    let push = try box.git(["push", "-q", "origin", "b\(index)"], in: folder)
                    collected.lock.withLock {
                        collected.commits.append(commit)
                        // The runner's "#N queued", or the hook's "recorded" when no runner answered it.
                        if !Sandbox.saysRecorded(push, commit, ref: "b\(index)") { collected.failures.append("no remote line for \(commit): \(push.stderr)") }
                    }
                } catch {
                    collected.lock.withLock { collected.failures.append("\(error)") }
                }
            }
        }
        XCTAssertEqual(collected.failures, [])
        XCTAssertEqual(collected.commits.count, 50)
        let summaries = try box.waitForExecutions(51, timeout: 180)
        XCTAssertEqual(summaries.count, 51)
        XCTAssertEqual(Set(summaries.map { $0["pipelineExecutionNumber"] as! Int }), Set(1...51))
        for commit in collected.commits {
            let note = try box.waitForNote(commit, timeout: 60)
            XCTAssertTrue(note.contains("Succeeded") || note.contains("Superseded"), note)
        }
        let integrity = try box.run("sqlite3", [box.server + "/pipeline/state.sqlite", "PRAGMA integrity_check"], allowFailure: true)
        if integrity.status == 0 { XCTAssertEqual(integrity.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "ok") }
    }
}
