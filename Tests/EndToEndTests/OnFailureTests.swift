import Foundation
import XCTest

/// Stage `onFailure`: ROLLBACK starts a ROLLBACK execution to the last execution that succeeded in
/// the stage; RETRY runs the failed actions once more.
final class OnFailureTests: XCTestCase {
    func testRollbackAndRetryOnFailure() throws {
        let box = try Sandbox()
        try box.git(["config", "pipeline.runnerIdleSeconds", "5"], in: box.server)
        let released = box.exchange + "/released.txt"
        let once = box.exchange + "/failed-once"
        let release = """
            name: release
            stages:
              - name: Release
                onFailure:
                  result: ROLLBACK
                actions:
                  - name: Publish
                    category: Build
                    provider: Commands
                    commands:
                      - test ! -e BROKEN
                      - echo "$PIPELINE_COMMIT" > \(released)
            """
        let flaky = """
            name: flaky
            stages:
              - name: Check
                onFailure:
                  result: RETRY
                actions:
                  - name: Flaky
                    category: Test
                    provider: Commands
                    commands:
                      - if [ -e \(once) ]; then echo second; else touch \(once); echo first; exit 1; fi
            """
        let good = try box.commit("good", files: [".pipelines/release.yml": release, ".pipelines/flaky.yml": flaky])
        try box.push()
        let first = try box.waitForNote(good, blocks: 2)
        XCTAssertTrue(first.contains("release #1 Succeeded"), first)
        // RETRY: the flaky action failed once, ran again, and the execution succeeded.
        XCTAssertTrue(first.contains("flaky #1 Succeeded"), first)
        let flakyLog = try box.pipeline(["logs", "flaky#1", "--action", "Flaky"]).stdout
        XCTAssertTrue(flakyLog.contains("second"), flakyLog)
        let shown = try box.pipeline(["show", "flaky#1"]).stdout
        XCTAssertTrue(shown.contains("Check/Flaky attempt 2: Succeeded"), shown)

        let bad = try box.commit("broken", files: ["BROKEN": "yes\n"])
        try box.push()
        let failed = try box.waitForNote(bad, blocks: 2)
        XCTAssertTrue(failed.contains("release #2 Failed"), failed)
        XCTAssertTrue(failed.contains("rolled back by release #3"), failed)
        try box.waitForStatus("release#3", "Succeeded")
        XCTAssertEqual(try String(contentsOfFile: released, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), good,
                       "the automatic rollback re-ran Release with #1's artifacts")
        let rollback = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["show", "release#3", "--json"]).stdout.utf8)) as! [String: Any]
        let execution = rollback["pipelineExecution"] as! [String: Any]
        XCTAssertEqual(execution["executionType"] as? String, "ROLLBACK")
        XCTAssertEqual((execution["trigger"] as? [String: Any])?["triggerType"] as? String, "AutomatedRollback")

        // A rollback goes only to an execution that succeeded in the stage.
        let refused = try box.pipeline(["rollback", "release", "--stage", "Release", "--to", "release#2"], allowFailure: true)
        XCTAssertEqual(refused.status, 1, refused.output)
        XCTAssertTrue(refused.stderr.contains("stage Release of release #2 is Failed"), refused.output)
    }
}
