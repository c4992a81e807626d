import Foundation
import XCTest

final class RetryTests: XCTestCase {
    func definition(marker: String) -> String {
        Fixture.pipeline(stages: Fixture.stage("Build", Fixture.commands("Steady", ["echo steady"]), Fixture.commands("Flaky", ["test -f '\(marker)'"])),
                         Fixture.shipStage)
    }

    /// Latest attempt and status of each action of an execution.
    func attempts(_ box: Sandbox, _ name: String) throws -> [String: (Int, String)] {
        let shown = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["show", name, "--json"]).stdout.utf8)) as! [String: Any]
        var result: [String: (Int, String)] = [:]
        for stage in shown["stageStates"] as! [[String: Any]] {
            for action in stage["actionStates"] as! [[String: Any]] {
                let latest = action["latestExecution"] as! [String: Any]
                let name = action["actionName"] as! String
                let attempt = latest["attempt"] as! Int
                if (result[name]?.0 ?? 0) < attempt { result[name] = (attempt, latest["status"] as! String) }
            }
        }
        return result
    }

    func testRetryRunsTheFailedActionsAgainAndTheSameExecutionSucceeds() throws {
        let box = try Sandbox()
        let marker = box.exchange + "/fixed"
        let commit = try box.commit("one", files: [".pipeline.yml": definition(marker: marker)])
        try box.push()
        XCTAssertTrue(try box.waitForNote(commit).hasPrefix("server #1 Failed"))
        XCTAssertTrue(FileManager.default.createFile(atPath: marker, contents: Data()))
        let retried = try box.pipeline(["retry", "server#1"])
        XCTAssertTrue(retried.stdout.contains("server #1 retries stage Build (failed actions)"), retried.stdout)
        try box.waitForStatus("server#1", "Succeeded")
        let after = try attempts(box, "server#1")
        XCTAssertEqual(after["Steady"]?.0, 1, "a succeeded action is not run again")
        XCTAssertEqual(after["Flaky"]?.0, 2)
        XCTAssertEqual(after["Flaky"]?.1, "Succeeded")
        XCTAssertEqual(after["Ship"]?.1, "Succeeded", "the execution goes on after the retried stage")
        XCTAssertTrue(try box.waitForNote(commit).hasPrefix("server #1 Succeeded"))
        let again = try box.pipeline(["retry", "server#1"], allowFailure: true)
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("only a failed or stopped stage can be retried"), again.stderr)

        // --all-actions runs the succeeded ones too.
        try FileManager.default.removeItem(atPath: marker)
        try box.commit("two")
        try box.push()
        try box.waitForStatus("server#2", "Failed")
        XCTAssertTrue(FileManager.default.createFile(atPath: marker, contents: Data()))
        try box.pipeline(["retry", "server#2", "--all-actions"])
        try box.waitForStatus("server#2", "Succeeded")
        XCTAssertEqual(try attempts(box, "server#2")["Steady"]?.0, 2)

        // A failed execution that a newer one has passed in its stage cannot be retried.
        try FileManager.default.removeItem(atPath: marker)
        try box.commit("three")
        try box.push()
        try box.waitForStatus("server#3", "Failed")
        try box.commit("four")
        try box.push()
        try box.waitForStatus("server#4", "Failed")
        let stale = try box.pipeline(["retry", "server#3"], allowFailure: true)
        XCTAssertEqual(stale.status, 1)
        XCTAssertTrue(stale.stderr.contains("server #4 has entered Build since"), stale.stderr)

        // A newer execution with another definition (it fails in a new stage before Build): the
        // failed execution's definition is stale, and it cannot be retried either.
        let lint = "stages:\n  - name: Lint\n    actions:\n      - name: Check\n        category: Test\n        provider: Commands\n        commands: [\"false\"]\n"
        try box.commit("five", files: [".pipeline.yml": definition(marker: marker).replacingOccurrences(of: "stages:\n", with: lint)])
        try box.push()
        try box.waitForStatus("server#5", "Failed")
        let changed = try box.pipeline(["retry", "server#4"], allowFailure: true)
        XCTAssertEqual(changed.status, 1)
        XCTAssertTrue(changed.stderr.contains("the definition of server changed since server #4"), changed.stderr)
    }
}
