import Foundation
import XCTest

/// CodePipeline's rules that a local run must keep, so that what works here works there.
final class CodePipelineRulesTests: XCTestCase {
    static func definition(extraAction: Bool) -> String {
        Fixture.pipeline(stages: Fixture.quickStage("echo built"),
                         Fixture.stage("Deploy", Fixture.commands("Ship", ["echo shipping"]) + (extraAction ? "\n" + Fixture.commands("Tell", ["echo told"]) : "")))
    }

    /// As in CodePipeline, a Stopped execution can be retried: its stopped stage runs again (the
    /// actions that did not succeed) and the execution goes on.
    func testAStoppedExecutionCanBeRetried() throws {
        let box = try Sandbox()
        try box.git(["config", "pipeline.runnerIdleSeconds", "5"], in: box.server)
        let go = box.exchange + "/go"
        let wait = "test -e \"$PIPELINE_REPOSITORY/../exchange/go\" || sleep 60"
        try box.commit("one", files: [".pipeline.yml": Fixture.pipeline(stages: Fixture.stage("Build", Fixture.commands("Quick", [wait])),
                                                                         Fixture.stage("Deploy", Fixture.commands("Ship", ["echo shipping"])))])
        try box.push()
        try box.waitForStatus("server#1", "InProgress")
        _ = try box.waitForProcess(withArgument: "60")
        try box.pipeline(["stop", "server#1", "--abandon", "--reason", "wrong time"])
        try box.waitForStatus("server#1", "Stopped")
        FileManager.default.createFile(atPath: go, contents: Data())
        let retried = try box.pipeline(["retry", "server#1"])
        XCTAssertTrue(retried.stdout.contains("server #1 retries stage Build"), retried.stdout)
        try box.waitForStatus("server#1", "Succeeded", timeout: 60)
        let history = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["history", "--json"]).stdout.utf8)) as! [String: Any]
        let summary = (history["pipelineExecutionSummaries"] as! [[String: Any]])[0]
        XCTAssertNil(summary["stopTrigger"], "a retried execution is no longer stopped")
        let shown = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["show", "server#1", "--json"]).stdout.utf8)) as! [String: Any]
        let ship = (shown["stageStates"] as! [[String: Any]]).first { $0["stageName"] as? String == "Deploy" }
        XCTAssertEqual((ship?["latestExecution"] as? [String: Any])?["status"] as? String, "Succeeded")
    }

    /// A rollback goes to an execution that ran the stage, of the pipeline's current structure:
    /// AWS refuses a rollback execution as the target and one of an earlier pipeline version.
    func testRollbackRefusesARollbackAndAnEarlierStructure() throws {
        let box = try Sandbox()
        try box.git(["config", "pipeline.runnerIdleSeconds", "5"], in: box.server)
        try box.commit("one", files: [".pipeline.yml": Self.definition(extraAction: false)])
        try box.push()
        try box.waitForStatus("server#1", "Succeeded")
        try box.commit("two")
        try box.push()
        try box.waitForStatus("server#2", "Succeeded")
        try box.pipeline(["rollback", "server", "--stage", "Deploy", "--to", "server#1", "--wait"])

        let toRollback = try box.pipeline(["rollback", "server", "--stage", "Deploy", "--to", "server#3"], allowFailure: true)
        XCTAssertEqual(toRollback.status, 2, toRollback.output)
        XCTAssertTrue(toRollback.stderr.contains("server #3 is itself a rollback"), toRollback.stderr)
        XCTAssertTrue(toRollback.stderr.contains("--to server#1"), toRollback.stderr)

        // The definition changes (an action more in Deploy): earlier executions ran another structure.
        try box.commit("three", files: [".pipeline.yml": Self.definition(extraAction: true)])
        try box.push()
        try box.waitForStatus("server#4", "Succeeded")
        let earlier = try box.pipeline(["rollback", "server", "--stage", "Deploy", "--to", "server#2"], allowFailure: true)
        XCTAssertEqual(earlier.status, 2, earlier.output)
        XCTAssertTrue(earlier.stderr.contains("server #2 ran an earlier structure of server"), earlier.stderr)
        let automatic = try box.pipeline(["rollback", "server", "--stage", "Deploy"], allowFailure: true)
        XCTAssertNotEqual(automatic.status, 0, automatic.output)
        XCTAssertTrue(automatic.stderr.contains("with its current structure"), automatic.stderr)
        XCTAssertEqual(try box.waitForExecutions(4).count, 4, "nothing was started by the refused rollbacks")

        // pipelineVersion: 1 until the definition changed, 2 after; the rollback ran version 1.
        func version(_ name: String) throws -> Int? {
            let shown = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["show", name, "--json"]).stdout.utf8)) as? [String: Any]
            return (shown?["pipelineExecution"] as? [String: Any])?["pipelineVersion"] as? Int
        }
        XCTAssertEqual(try (1...4).map { try version("server#\($0)") }, [1, 1, 1, 2])
        let state = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["status", "server", "--json"]).stdout.utf8)) as? [String: Any]
        XCTAssertEqual(state?["pipelineVersion"] as? Int, 2)
        let events = try box.pipeline(["events", "--json"]).stdout.split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.compactMap { $0["detail"] as? [String: Any] }
        XCTAssertEqual(events.last?["version"] as? Int, 2, "events carry the pipeline's version")
    }

    /// A pipeline without triggers whose Source names `BranchName` runs for that branch only, as
    /// CodePipeline does; `start` without a revision runs that branch's tip; lint says so.
    func testASourceBranchNameIsTheOnlyBranchThatRuns() throws {
        let box = try Sandbox()
        let definition = """
            stages:
              - name: Source
                actions:
                  - name: Checkout
                    category: Source
                    provider: CodeCommit
                    outputArtifacts: [SourceArtifact]
                    configuration:
                      RepositoryName: server
                      BranchName: release
              - name: Build
                actions:
                  - name: Build
                    category: Build
                    provider: Commands
                    commands: ["echo built $PIPELINE_BRANCH"]
            """
        let feature = try box.commit("feature", files: [".pipeline.yml": definition])
        try box.push(["HEAD:refs/heads/feature/x"])
        try box.push(["HEAD:refs/heads/release"])
        try box.waitForStatus("server#1", "Succeeded")
        let history = try box.pipeline(["history"]).stdout
        XCTAssertTrue(history.contains("release@\(feature.prefix(7))"), history)
        XCTAssertFalse(history.contains("feature/x@"), "the push to feature/x started the pipeline:\n\(history)")

        // `start` with the server's HEAD on feature/x runs release's tip.
        try box.git(["symbolic-ref", "HEAD", "refs/heads/feature/x"], in: box.server)
        let tip = try box.commit("more")
        try box.push(["HEAD:refs/heads/release"])
        try box.waitForStatus("server#2", "Succeeded")
        let started = try box.pipeline(["start"])
        XCTAssertTrue(started.stdout.contains("server #3"), started.output)
        try box.waitForStatus("server#3", "Succeeded")
        let log = try box.pipeline(["logs", "server#3", "--action", "Build"]).stdout
        XCTAssertTrue(log.contains("built release\n"), log)
        XCTAssertTrue(try box.pipeline(["history"]).stdout.contains("release@\(tip.prefix(7))"))

        let lint = try box.pipeline(["lint", box.clone + "/.pipeline.yml"]).stdout
        XCTAssertTrue(lint.contains(".pipeline.yml:4:"), lint)
        XCTAssertTrue(lint.contains("note: pipeline `server` runs for pushes to branch `release` only"), lint)
        XCTAssertTrue(lint.contains("ok, 1 note"), lint)
    }

    /// A CloudFormation template's parameters with defaults name the pipeline, its provider, its
    /// artifacts and its source branch, as CloudFormation would; a `.json` file that AWS would
    /// reject (a trailing comma) fails lint and the push at the same place.
    func testATemplatesParameterDefaultsNameItsProviderArtifactsAndBranch() throws {
        let box = try Sandbox()
        let template = """
            AWSTemplateFormatVersion: "2010-09-09"
            Parameters:
              AppName: {Type: String, Default: shop}
              Runner: {Type: String, Default: Commands}
              Branch: {Type: String, Default: main}
            Resources:
              Pipeline:
                Type: AWS::CodePipeline::Pipeline
                Properties:
                  Name: !Ref AppName
                  Stages:
                    - Name: Source
                      Actions:
                        - Name: Checkout
                          ActionTypeId: {Category: Source, Owner: AWS, Provider: CodeCommit, Version: "1"}
                          Configuration: {RepositoryName: server, BranchName: !Ref Branch}
                          OutputArtifacts: [{Name: !Sub "${AppName}Source"}]
                    - Name: Build
                      Actions:
                        - Name: Compile
                          ActionTypeId: {Category: Compute, Owner: AWS, Provider: !Ref Runner, Version: "1"}
                          InputArtifacts: [{Name: !Sub "${AppName}Source"}]
                          Commands: [!Sub "echo built ${AppName} from $(cat app.txt)"]
            """
        let broken = "{\"pipeline\": {\"name\": \"broken\",\n  \"stages\": [],\n}}\n"
        let commit = try box.commit("template", files: [".pipelines/shop.yml": template, "app.txt": "the app", ".pipelines/broken.json": broken])
        try box.push()
        try box.waitForStatus("shop#1", "Succeeded")
        let log = try box.pipeline(["logs", "shop#1", "--action", "Compile"]).stdout
        XCTAssertTrue(log.contains("built shop from the app\n"), log)

        let lint = try box.run(Sandbox.binary, ["lint"], in: box.clone, allowFailure: true)
        XCTAssertEqual(lint.status, 1, lint.output)
        let error = ".pipelines/broken.json:2:15: error: not valid JSON: a trailing comma before `}`"
        XCTAssertTrue(lint.stdout.contains(error), lint.output)
        XCTAssertTrue(lint.stdout.contains("reads the template's parameter `AppName` at its Default: `shop`"), lint.output)
        let note = try box.waitForNote(commit)
        XCTAssertTrue(note.contains(error), note)
    }
}
