import Foundation
import XCTest

/// What git-pipeline prints as CodePipeline's JSON and what it accepts as CodePipeline's definitions,
/// checked by AWS's own machine-readable models: botocore's CodePipeline service model and cfn-lint,
/// through scripts/aws-check.py in the project's virtualenv (`make deps` makes it).
final class AWSModelTests: XCTestCase {
    static let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static var python: String { package + "/.build/aws-venv/bin/python" }
    static var checker: String { package + "/scripts/aws-check.py" }

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
                commands:
                  - 'echo "greeting #{variables.GREETING}"'
                  - test ! -e "$PIPELINE_REPOSITORY/../exchange/hold" || sleep 60
          - name: Deploy
            actions:
              - name: Ship
                category: Build
                provider: Commands
                commands:
                  - test ! -e "$PIPELINE_REPOSITORY/../exchange/fail"
                  - echo shipping
        """

    func requireChecker() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw XCTSkip("botocore and cfn-lint are not installed: run `make deps` (it makes \(Self.python))")
        }
    }

    /// Runs the checker on `json` as an output of `shape`; fails the test with its findings.
    func check(_ json: String, as shape: String, _ what: String, box: Sandbox, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try box.run(Self.python, [Self.checker, "output", shape], input: json, allowFailure: true)
        XCTAssertEqual(result.status, 0, "\(what) is not a \(shape):\n\(result.output)\n\(json.prefix(3000))", file: file, line: line)
    }

    /// Every `--json` we print, over executions that went every way an AWS user meets: pushed,
    /// started with a variable, stopped with a reason, rolled back.
    func testEveryJSONOutputIsCodePipelinesShape() throws {
        try requireChecker()
        let box = try Sandbox()
        try box.git(["config", "pipeline.runnerIdleSeconds", "5"], in: box.server)
        try box.commit("one", files: [".pipeline.yml": Self.definition])
        try box.push()
        try box.waitForStatus("app#1", "Succeeded")
        try box.pipeline(["start", "--variable", "GREETING=bonjour", "--wait"])
        // #3 waits in Build until stopped.
        FileManager.default.createFile(atPath: box.exchange + "/hold", contents: Data())
        try box.pipeline(["start"])
        try box.waitForStatus("app#3", "InProgress")
        try box.pipeline(["stop", "app#3", "--reason", "a bad change", "--abandon"])
        try box.waitForStatus("app#3", "Stopped")
        try FileManager.default.removeItem(atPath: box.exchange + "/hold")
        try box.pipeline(["rollback", "app", "--stage", "Deploy", "--to", "app#1", "--wait"])
        // #5 fails in Deploy, then is retried and succeeds: its events say RESUMED and attempt 2.
        FileManager.default.createFile(atPath: box.exchange + "/fail", contents: Data())
        try box.pipeline(["start"])
        try box.waitForStatus("app#5", "Failed")
        try FileManager.default.removeItem(atPath: box.exchange + "/fail")
        try box.pipeline(["retry", "app#5"])
        try box.waitForStatus("app#5", "Succeeded")

        try check(try box.pipeline(["history", "--json"]).stdout, as: "ListPipelineExecutionsOutput", "history --json", box: box)
        for number in 1...5 {
            try check(try box.pipeline(["show", "app#\(number)", "--json"]).stdout, as: "GetPipelineExecutionOutput", "show app#\(number) --json", box: box)
        }
        try check(try box.pipeline(["status", "app", "--json"]).stdout, as: "GetPipelineStateOutput", "status app --json", box: box)

        // What the validator cannot see: the values AWS gives these members.
        let shown = { (name: String) throws -> [String: Any] in
            try JSONSerialization.jsonObject(with: Data(try box.pipeline(["show", name, "--json"]).stdout.utf8)) as! [String: Any]
        }
        let started = try XCTUnwrap(try shown("app#2")["pipelineExecution"] as? [String: Any])
        let variables = try XCTUnwrap(started["variables"] as? [[String: Any]], "pipelineExecution.variables")
        XCTAssertEqual(variables.first { $0["name"] as? String == "GREETING" }?["resolvedValue"] as? String, "bonjour")
        let rollback = try XCTUnwrap(try shown("app#4")["pipelineExecution"] as? [String: Any])
        XCTAssertEqual((rollback["trigger"] as? [String: Any])?["triggerType"] as? String, "ManualRollback")
        XCTAssertEqual(rollback["executionType"] as? String, "ROLLBACK")
        let firstId = try XCTUnwrap((try shown("app#1")["pipelineExecution"] as? [String: Any])?["pipelineExecutionId"] as? String)
        XCTAssertEqual((rollback["rollbackMetadata"] as? [String: Any])?["rollbackTargetPipelineExecutionId"] as? String, firstId)
        let history = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["history", "--json"]).stdout.utf8)) as! [String: Any]
        let summaries = try XCTUnwrap(history["pipelineExecutionSummaries"] as? [[String: Any]])
        let stopped = try XCTUnwrap(summaries.first { $0["pipelineExecutionNumber"] as? Int == 3 })
        XCTAssertEqual((stopped["stopTrigger"] as? [String: Any])?["reason"] as? String, "a bad change")
        let rolled = try XCTUnwrap(summaries.first { $0["pipelineExecutionNumber"] as? Int == 4 })
        XCTAssertEqual((rolled["rollbackMetadata"] as? [String: Any])?["rollbackTargetPipelineExecutionId"] as? String, firstId)
        XCTAssertEqual((rolled["trigger"] as? [String: Any])?["triggerType"] as? String, "ManualRollback")

        // Events: every one of CodePipeline's documented shape; ids are UUIDs, each its own.
        let events = try box.pipeline(["events", "--json"]).stdout
        let checked = try box.run(Self.python, [Self.checker, "events"], input: events, allowFailure: true)
        XCTAssertEqual(checked.status, 0, "events --json:\n\(checked.output)")
        let parsed = events.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertGreaterThan(parsed.count, 20)
        XCTAssertEqual(Set(parsed.compactMap { $0["id"] as? String }).count, parsed.count, "event ids are unique")
        XCTAssertEqual(try box.pipeline(["events", "--json"]).stdout, events, "the same ids each time the events are read")
        let fifthId = try XCTUnwrap((try shown("app#5")["pipelineExecution"] as? [String: Any])?["pipelineExecutionId"] as? String)
        let fifth = parsed.compactMap { $0["detail"] as? [String: Any] }.filter { $0["execution-id"] as? String == fifthId }
        XCTAssertTrue(fifth.contains { $0["state"] as? String == "RESUMED" && $0["stage"] == nil }, "a retry resumes the execution")
        XCTAssertEqual(fifth.last?["pipeline-execution-attempt"] as? Int, 2)
        XCTAssertEqual(fifth.first?["pipeline-execution-attempt"] as? Int, 1)
        XCTAssertTrue((parsed.first?["resources"] as? [String])?.first?.hasPrefix("arn:git-pipeline:local:") == true)
        let shipped = fifth.last { $0["action"] as? String == "Ship" }
        XCTAssertEqual((shipped?["input-artifacts"] as? [[String: Any]])?.first?["name"] as? String, "SourceArtifact")

        // Without a pipeline named, status wraps the states in one object (no AWS operation prints a bare array).
        let all = try box.pipeline(["status", "--json"]).stdout
        let wrapper = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(all.utf8)) as? [String: Any], all)
        let states = try XCTUnwrap(wrapper["pipelineStates"] as? [Any], all)
        XCTAssertEqual(states.count, 1)
        let one = String(decoding: try JSONSerialization.data(withJSONObject: states[0]), as: UTF8.self)
        try check(one, as: "GetPipelineStateOutput", "status --json's pipelineStates[0]", box: box)
    }

    /// The checker itself finds what it is for: a wrong name for an AWS member, a wrong enum value.
    func testTheCheckerCatchesAWrongMemberName() throws {
        try requireChecker()
        let box = try Sandbox(install: false)
        let wrong = #"{"pipelineExecutionSummaries": [{"pipelineExecutionId": "x", "status": "Succeeded", "rollbackMetadata": {"rollbackTargetPipelineExecution": "y"}, "trigger": {"triggerType": "Rollback"}}]}"#
        let result = try box.run(Self.python, [Self.checker, "output", "ListPipelineExecutionsOutput"], input: wrong, allowFailure: true)
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.stdout.contains("rollbackTargetPipelineExecutionId"), result.stdout)
        XCTAssertTrue(result.stdout.contains("\"Rollback\" is not a TriggerType"), result.stdout)

        // An event as we wrote it before: a row number for an id, no resources, no attempt.
        let old = #"{"version":"0","id":"12","detail-type":"CodePipeline Pipeline Execution State Change","source":"aws.codepipeline","account":"local","region":"local","time":"2026-12-01T10:00:00Z","resources":[],"detail":{"pipeline":"app","execution-id":"6c1e0d4e-8d0a-4c59-9f55-0b8a3c2f4e11","state":"STARTED","version":1,"execution-trigger":{"trigger-type":"Rollback","trigger-detail":"{}"}}}"#
        let events = try box.run(Self.python, [Self.checker, "events"], input: old + "\n", allowFailure: true)
        XCTAssertEqual(events.status, 1, events.output)
        for finding in ["line 1.id: a UUID expected", "line 1.resources", "missing pipeline-execution-attempt", "missing start-time", "Rollback is not a TriggerType"] {
            XCTAssertTrue(events.stdout.contains(finding), "\(finding) in:\n\(events.stdout)")
        }
    }

    /// Every corpus definition we accept is one AWS accepts: get-pipeline JSON by botocore's own
    /// validator of CreatePipeline's input, CloudFormation templates by cfn-lint (no error).
    func testTheCorpusDefinitionsWeAcceptPassAWSsValidators() throws {
        try requireChecker()
        let box = try Sandbox(install: false)
        let folder = LintCorpusTests.corpus + "/pipeline"
        guard FileManager.default.fileExists(atPath: folder) else { throw XCTSkip("the corpus is not at \(folder)") }
        var checked = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: folder).sorted() {
            let path = folder + "/" + name
            let lint = try box.run(Sandbox.binary, ["lint", path], allowFailure: true)
            guard lint.status == 0 else { continue }  // rejected by us: LintCorpusTests checks that verdict
            let mode = name.hasSuffix(".json") ? "declaration" : "template"
            let result = try box.run(Self.python, [Self.checker, mode, path], allowFailure: true)
            XCTAssertEqual(result.status, 0, "\(name): we accept it, AWS's \(mode == "declaration" ? "botocore" : "cfn-lint") does not:\n\(result.output)")
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 7, "the corpus' accepted definitions")
    }
}
