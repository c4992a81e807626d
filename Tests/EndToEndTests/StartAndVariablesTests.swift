import Foundation
import XCTest

/// `start` by hand and `#{namespace.Name}` variables across actions and stages.
final class StartAndVariablesTests: XCTestCase {
    static let definition = """
        name: app
        variables:
          - name: GREETING
            defaultValue: hello
        stages:
          - name: Build
            actions:
              - name: Make
                category: Build
                provider: Commands
                namespace: BuildVars
                outputVariables: [VERSION]
                commands:
                  - export VERSION="1.$PIPELINE_EXECUTION_NUMBER"
                  - echo "greeting=#{variables.GREETING} branch=#{SourceVariables.BranchName} id=#{codepipeline.PipelineExecutionId}"
          - name: Deploy
            actions:
              - name: Use
                category: Build
                provider: Commands
                commands:
                  - echo "version=#{BuildVars.VERSION} commit=#{SourceVariables.CommitId}"
                  - test "#{BuildVars.VERSION}" = "1.$PIPELINE_EXECUTION_NUMBER"
        """

    func testVariablesFlowAcrossActionsAndStartOverridesThem() throws {
        let box = try Sandbox()
        let commit = try box.commit("one", files: [".pipeline.yml": Self.definition])
        try box.push()
        let note = try box.waitForNote(commit)
        XCTAssertTrue(note.hasPrefix("app #1 Succeeded"), note)
        let make = try box.pipeline(["logs", "app#1", "--action", "Make"]).stdout
        let history = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["history", "--json"]).stdout.utf8)) as! [String: Any]
        let id = try XCTUnwrap((history["pipelineExecutionSummaries"] as? [[String: Any]])?.first?["pipelineExecutionId"] as? String)
        XCTAssertTrue(make.contains("greeting=hello branch=main id=\(id)"), make)
        let use = try box.pipeline(["logs", "app#1", "--action", "Use"]).stdout
        XCTAssertTrue(use.contains("version=1.1 commit=\(commit)"), use)

        let started = try box.pipeline(["start", "--revision", "main", "--variable", "GREETING=bonjour", "--wait"])
        XCTAssertTrue(started.stdout.contains("app #2 started for main@\(commit.prefix(7))"), started.stdout)
        XCTAssertTrue(started.stdout.contains("app #2 Succeeded"), started.stdout)
        XCTAssertTrue(try box.pipeline(["logs", "app#2", "--action", "Make"]).stdout.contains("greeting=bonjour branch=main"))
        let shown = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["show", "app#2", "--json"]).stdout.utf8)) as! [String: Any]
        let trigger = (shown["pipelineExecution"] as? [String: Any])?["trigger"] as? [String: Any]
        XCTAssertEqual(trigger?["triggerType"] as? String, "StartPipelineExecution")

        let unknown = try box.pipeline(["start", "--variable", "NOPE=1"], allowFailure: true)
        XCTAssertEqual(unknown.status, 2, unknown.output)
        XCTAssertTrue(unknown.stderr.contains("has no variable `NOPE`"), unknown.stderr)
        XCTAssertEqual(try box.pipeline(["start", "--revision", "no-such-branch"], allowFailure: true).status, 2)
        // Any revision git accepts: `main~1`, `HEAD^`, an abbreviated id.
        try box.commit("two")
        try box.push()
        try box.waitForStatus("app#3", "Succeeded")
        let back = try box.pipeline(["start", "--revision", "main~1", "--wait"])
        XCTAssertTrue(back.stdout.contains("app #4 started for main~1@\(commit.prefix(7))"), back.stdout)
        XCTAssertTrue(try box.pipeline(["start", "--revision", String(commit.prefix(9)), "--wait"]).stdout.contains("app #5 Succeeded"))
    }

    func testUnknownVariableFailsTheActionClearlyAndWaitExitsThree() throws {
        let box = try Sandbox()
        let definition = """
            stages:
              - name: Build
                actions:
                  - name: Typo
                    category: Build
                    provider: Commands
                    commands: ["echo #{variables.NOPE} #{Nowhere.Thing}"]
            """
        let commit = try box.commit("typo", files: [".pipeline.yml": definition])
        try box.push()
        let note = try box.waitForNote(commit)
        XCTAssertTrue(note.hasPrefix("server #1 Failed"), note)
        XCTAssertTrue(note.contains("unknown variable references #{variables.NOPE}, #{Nowhere.Thing}"), note)
        let waited = try box.pipeline(["start", "--wait"], allowFailure: true)
        XCTAssertEqual(waited.status, 3, waited.output)
        XCTAssertTrue(waited.stdout.contains("server #2 Failed"), waited.stdout)
    }
}
