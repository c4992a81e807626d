import Foundation
import XCTest

/// A secret's value never appears in anything we write (issue 11, item 2): not in either notes ref,
/// the store (events included), `show/status/history --json`, the logs, test report names and
/// messages, exported variables, failure messages — whether printed whole, in two writes, at the end
/// of a line longer than 64 KiB, or a multi-line value line by line. And it reaches only the action
/// that references it.
final class SecretsNeverLeakTests: XCTestCase {
    static let token = "tok-9f8e7d6c5b4a39281706"
    static let multiLine = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\nAQEFAASCBKcwggSjAgEAAoIB\n-----END KEY-----"

    static let buildspec = """
        version: 0.2
        env:
          secrets-manager:
            TOKEN: prod/token
            KEY: prod/key
          exported-variables: [COPIED]
        phases:
          build:
            commands:
              - export COPIED="prefix-$TOKEN"
              - echo "whole $TOKEN"
              - printf 'split %s' "${TOKEN:0:9}"; sleep 0.3; printf '%s end\\n' "${TOKEN:9}"
              - head -c 70000 /dev/zero | tr '\\0' a; printf '%s\\n' "$TOKEN"
              - printf '%s\\n' "$KEY" | head -2; sleep 0.3; printf '%s\\n' "$KEY" | tail -2
              - mkdir -p reports
              - |
                cat > reports/junit.xml <<EOF
                <testsuite tests="1"><testcase classname="auth" name="login with $TOKEN">
                <failure message="expected $TOKEN to be accepted">trace</failure></testcase></testsuite>
                EOF
        reports:
          unit:
            files: [junit.xml]
            base-directory: reports
        """

    static let definition = """
        stages:
          - name: Build
            actions:
              - name: Build
                category: Build
                provider: CodeBuild
                namespace: BuildVars
          - name: Other
            actions:
              - name: Snoop
                category: Build
                provider: Commands
                commands:
                  - 'env | grep -c -- "tok-9f8e" || echo "no secret here"'
                  - 'echo "copied: #{BuildVars.COPIED}"'
          - name: Notify
            actions:
              - name: Tell
                category: Invoke
                provider: Lambda
                inputArtifacts: [SourceArtifact]
                configuration:
                  Command: python3 refuse.py
                  UserParameters: '#{BuildVars.COPIED}'
        """

    static let refuse = """
        import json, sys
        job = json.load(sys.stdin)["CodePipeline.job"]
        given = job["data"]["actionConfiguration"]["configuration"]["UserParameters"]
        print(json.dumps({"failureDetails": {"type": "JobFailed", "message": "refused " + given}}))
        """

    func testNoFormOfASecretReachesAnythingWeWrite() throws {
        let box = try Sandbox()
        try box.pipeline(["secret", "set", "prod/token", "--value=" + Self.token])
        try box.pipeline(["secret", "set", "prod/key", "--value=" + Self.multiLine])
        let commit = try box.commit("secrets", files: [".pipeline.yml": Self.definition, "buildspec.yml": Self.buildspec, "refuse.py": Self.refuse])
        try box.push()
        let note = try box.waitForNote(commit)
        XCTAssertTrue(note.hasPrefix("server #1 Failed"), note)
        XCTAssertTrue(note.contains("refused prefix-***"), "the Invoke's failure message, built from the masked variable: \(note)\n" +
                      ((try? box.pipeline(["logs", "server#1", "--action", "Tell"]).stdout) ?? ""))
        XCTAssertTrue(note.contains("output variable COPIED held a secret: kept masked"), note)

        let build = try box.pipeline(["logs", "server#1", "--action", "Build"]).stdout
        XCTAssertTrue(build.contains("whole ***"), build)
        XCTAssertTrue(build.contains("split *** end"), build)
        XCTAssertTrue(build.contains(String(repeating: "a", count: 100) + "***"), "the long line's end")
        XCTAssertTrue(build.contains("failed: auth.login with *** — expected *** to be accepted"), build)
        let snoop = try box.pipeline(["logs", "server#1", "--action", "Snoop"]).stdout
        XCTAssertTrue(snoop.contains("no secret here"), "an action that references no secret has none: \(snoop)")
        XCTAssertTrue(snoop.contains("copied: prefix-***"), snoop)

        // Everything we wrote, searched for every form: whole, each line of the multi-line one, and
        // their JSON-escaped forms.
        var written = [note, try box.note(commit, ref: "ci-records")]
        for command in [["show", "server#1", "--json"], ["status", "--json"], ["history", "--json"], ["status"], ["show", "server#1"]] {
            written.append(try box.pipeline(command).stdout)
        }
        for action in ["Build", "Snoop", "Tell"] { written.append(try box.pipeline(["logs", "server#1", "--action", action]).stdout) }
        let dump = try box.run("sqlite3", [box.server + "/pipeline/state.sqlite", ".dump"]).stdout
        written.append(dump)
        XCTAssertTrue(dump.contains("prefix-***"), "the store keeps the masked variable")
        for file in try FileManager.default.subpathsOfDirectory(atPath: box.server + "/pipeline/logs") {
            written.append((try? String(contentsOfFile: box.server + "/pipeline/logs/" + file, encoding: .utf8)) ?? "")
        }
        written.append((try? String(contentsOfFile: box.server + "/pipeline/runner.log", encoding: .utf8)) ?? "")
        let forms = [Self.token, "tok-9f8e7d6c5"] + Self.multiLine.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("-----") }
        for text in written {
            for form in forms { XCTAssertFalse(text.contains(form), "\(form) leaked in:\n\(text.prefix(3000))") }
        }
    }
}
