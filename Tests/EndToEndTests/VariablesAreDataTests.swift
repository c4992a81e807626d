import Foundation
import XCTest

/// `#{…}` values from pushes are data: a hostile commit message, branch name or start variable is
/// printed as it is and runs nothing.
final class VariablesAreDataTests: XCTestCase {
    func testHostileCommitMessagesBranchNamesAndVariablesRunNothing() throws {
        let box = try Sandbox()
        let pwned = box.exchange + "/PWN"
        let definition = Fixture.pipeline("""
            variables:
              - name: V
                defaultValue: plain
            """, stages: Fixture.stage("Build", Fixture.commands("Echo", [
                "printf 'message=[%s]\\n' #{SourceVariables.CommitMessage}",
                "printf 'branch=[%s]\\n' \"#{SourceVariables.BranchName}\"",
                "printf 'variable=[%s]\\n' '#{variables.V}'",
            ])))
        let message = "x'; touch \(pwned); echo '"
        try box.write([".pipeline.yml": definition])
        try box.git(["add", "-A"])
        try box.git(["commit", "-q", "-m", message])
        let branch = "x';touch${IFS}\(pwned);'"
        try box.git(["push", "-q", "origin", "HEAD:refs/heads/\(branch)"])
        let first = try box.waitForExecutions(1)
        XCTAssertEqual(first.first?["status"] as? String, "Succeeded")
        let log = try box.pipeline(["logs", "server#1", "--action", "Echo"]).stdout
        XCTAssertTrue(log.contains("message=[\(message)]"), log)
        XCTAssertTrue(log.contains("branch=[\(branch)]"), log)
        // A start variable with a quote and a line break.
        let variable = "a'\ntouch \(pwned)\n'"
        try box.pipeline(["start", "--revision", branch, "--variable", "V=\(variable)"])
        _ = try box.waitForExecutions(2)
        let second = try box.pipeline(["logs", "server#2", "--action", "Echo"]).stdout
        XCTAssertTrue(second.contains("variable=[\(variable)]"), second)
        XCTAssertFalse(FileManager.default.fileExists(atPath: pwned), "a value from a push ran as code")
    }
}
