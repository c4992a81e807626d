import Foundation
import XCTest

/// SPEC §4's push filters with real pushes.
final class TriggerTests: XCTestCase {
    static let filtered = Fixture.pipeline("""
        name: src
        triggers:
          - gitConfiguration:
              push:
                - branches: {includes: ["main", "release/*"], excludes: ["release/old"]}
                  filePaths: {includes: ["src/**"], excludes: ["src/docs/**"]}
        """, stages: Fixture.quickStage())

    /// True when the runner that answered the push queued `src`; a push no runner answered fails
    /// the test (its "recorded" line would say nothing about the filters).
    func queued(_ push: Sandbox.Result, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        XCTAssertFalse(push.stderr.contains(" recorded; the runner"), "no runner answered: \(push.stderr)", file: file, line: line)
        return push.stderr.contains("src #")
    }

    func testBranchAndFilePathFilters() throws {
        let box = try Sandbox()
        try box.commit("base", files: [".pipeline.yml": Self.filtered, "src/a.c": "1\n"])
        XCTAssertTrue(queued(try box.pushAnswered()), "first push of main: a new branch, compared with nothing yet")
        try box.commit("readme", files: ["README.md": "hi\n"])
        XCTAssertFalse(queued(try box.pushAnswered()), "no file under src/ changed")
        try box.commit("docs", files: ["src/docs/guide.md": "doc\n"])
        XCTAssertFalse(queued(try box.pushAnswered()), "src/docs/** is excluded")
        let change = try box.commit("code", files: ["src/a.c": "2\n"])
        let push = try box.pushAnswered()
        XCTAssertTrue(push.stderr.contains("src #2 queued for main@\(change.prefix(7))"), push.stderr)

        // Branch filters: release/* yes, release/old no, feature no — each with a src change.
        try box.git(["checkout", "-q", "-b", "release/2"])
        try box.commit("r2", files: ["src/b.c": "r2\n"])
        XCTAssertTrue(try box.pushAnswered(["HEAD:release/2"]).stderr.contains("src #3 queued for release/2@"))
        XCTAssertFalse(queued(try box.pushAnswered(["HEAD:release/old"])))
        XCTAssertFalse(queued(try box.pushAnswered(["HEAD:feature"])))

        // A new branch is compared with its merge base with HEAD (main): the basis is in the trigger.
        try box.git(["checkout", "-q", "main"])
        try box.git(["checkout", "-q", "-b", "release/3"])
        try box.commit("docs only", files: ["src/docs/more.md": "x\n"])
        XCTAssertFalse(queued(try box.pushAnswered(["HEAD:release/3"])), "only excluded files changed since the merge base")
        try box.commit("and code", files: ["src/c.c": "x\n"])
        XCTAssertTrue(queued(try box.pushAnswered(["HEAD:release/3"])))
        let summaries = try box.waitForExecutions(4)
        let newest = try XCTUnwrap(summaries.first)
        let detail = try XCTUnwrap((newest["trigger"] as? [String: Any])?["triggerDetail"] as? String)
        XCTAssertTrue(detail.contains("changes ") && detail.contains(".."), "an existing branch diffs old..new: \(detail)")
        let third = try XCTUnwrap(summaries.first { $0["pipelineExecutionNumber"] as? Int == 3 })
        let thirdDetail = try XCTUnwrap((third["trigger"] as? [String: Any])?["triggerDetail"] as? String)
        XCTAssertTrue(thirdDetail.contains("new branch: changes since the merge base"), thirdDetail)
        XCTAssertTrue(thirdDetail.contains("with main"), thirdDetail)
    }
}
