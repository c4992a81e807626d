import Foundation
import XCTest

/// Invoke actions: an executable gets CodePipeline's job document on stdin and answers on stdout.
final class InvokeTests: XCTestCase {
    static let definition = """
        name: invoke
        stages:
          - name: Invoke
            actions:
              - name: Vars
                category: Invoke
                provider: Lambda
                namespace: InvokeVars
                configuration:
                  FunctionName: make-version
                  Command: python3 tools/vars.py
                  UserParameters: '{"channel": "beta"}'
              - name: Poll
                category: Invoke
                provider: Command
                outputArtifacts: [PollOut]
                configuration:
                  Command: python3 tools/poll.py
                  ContinuationDelaySeconds: "0.2"
          - name: Use
            actions:
              - name: Show
                category: Build
                provider: Commands
                inputArtifacts: [PollOut]
                commands:
                  - echo "version=#{InvokeVars.Version} channel=#{InvokeVars.Channel}"
                  - cat invocations.txt
        """
    static let failing = """
        stages:
          - name: Invoke
            actions:
              - name: Canary
                category: Invoke
                provider: Command
                configuration:
                  Command: python3 tools/fail.py
        """
    static let vars = """
        import json, sys
        job = json.load(sys.stdin)["CodePipeline.job"]
        params = json.loads(job["data"]["actionConfiguration"]["configuration"]["UserParameters"])
        assert job["data"]["inputArtifacts"][0]["name"] == "SourceArtifact"
        print(json.dumps({"outputVariables": {"Version": "1.2.3", "Channel": params["channel"]},
                          "executionDetails": {"summary": "made version 1.2.3"}}))
        """
    static let poll = """
        import json, os, sys
        job = json.load(sys.stdin)["CodePipeline.job"]
        token = job["data"].get("continuationToken")
        out = job["data"]["outputArtifacts"][0]["location"]["localLocation"]["path"]
        with open(os.path.join(out, "invocations.txt"), "a") as f:
            f.write("token=%s\\n" % token)
        if token is None:
            print(json.dumps({"continuationToken": "step-1", "executionDetails": {"summary": "started"}}))
        elif token == "step-1":
            print(json.dumps({"continuationToken": "step-2"}))
        else:
            print(json.dumps({"executionDetails": {"summary": "done after 3 invocations"}}))
        """
    static let fail = """
        import json, sys
        sys.stdin.read()
        print("checking the canary", file=sys.stderr)
        print(json.dumps({"failureDetails": {"type": "JobFailed", "message": "the canary is unhealthy"}}))
        """

    func testOutputVariablesContinuationAndFailure() throws {
        let box = try Sandbox()
        let commit = try box.commit("invoke", files: [
            ".pipelines/invoke.yml": Self.definition, ".pipelines/failing.yml": Self.failing,
            "tools/vars.py": Self.vars, "tools/poll.py": Self.poll, "tools/fail.py": Self.fail,
        ])
        try box.push()
        let note = try box.waitForNote(commit, blocks: 2)
        XCTAssertTrue(note.contains("invoke #1 Succeeded"), note)
        XCTAssertTrue(note.contains("made version 1.2.3"), note)
        XCTAssertTrue(note.contains("done after 3 invocations"), note)
        XCTAssertTrue(note.contains("failing #1 Failed"), note)
        XCTAssertTrue(note.contains("JobFailed: the canary is unhealthy"), note)

        let show = try box.pipeline(["logs", "invoke#1", "--action", "Show"]).stdout
        XCTAssertTrue(show.contains("version=1.2.3 channel=beta"), show)
        XCTAssertTrue(show.contains("token=None\ntoken=step-1\ntoken=step-2\n"), show)
        let poll = try box.pipeline(["logs", "invoke#1", "--action", "Poll"]).stdout
        XCTAssertTrue(poll.contains("invocation 3"), poll)
        let canary = try box.pipeline(["logs", "failing#1", "--action", "Canary"]).stdout
        XCTAssertTrue(canary.contains("checking the canary"), canary)
    }
}
