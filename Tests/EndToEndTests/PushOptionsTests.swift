import Foundation
import XCTest

/// `git push -o ci.…`: push options that speak to the pipelines (install makes git offer them).
final class PushOptionsTests: XCTestCase {
    static func pipeline(_ name: String) -> String {
        """
        name: \(name)
        variables:
          - name: GREETING
            defaultValue: hello
        stages:
          - name: Build
            actions:
              - name: Say
                category: Build
                provider: Commands
                commands: ["echo \(name) says #{variables.GREETING}-$((6*7))"]
        """
    }

    func testPushOptionsSkipSetVariablesPickAPipelineAndUnknownOnesAreRefused() throws {
        let box = try Sandbox()
        XCTAssertEqual(try box.git(["config", "receive.advertisePushOptions"], in: box.server).stdout, "true\n", "install offers push options")
        try box.git(["config", "pipeline.runnerIdleSeconds", "30"], in: box.server)

        // ci.skip: recorded, nothing runs; the push says so.
        let first = try box.commit("one", files: [".pipelines/a.yml": Self.pipeline("a"), ".pipelines/b.yml": Self.pipeline("b")])
        let skipped = try box.pushAnswered(extra: ["-o", "ci.skip"])
        XCTAssertTrue(skipped.stderr.contains("main@\(first.prefix(7)) skipped (push option ci.skip): nothing runs"), skipped.stderr)
        // [skip ci] in the tip's message does the same.
        let second = try box.commit("docs only [skip ci]")
        let bySubject = try box.pushAnswered()
        XCTAssertTrue(bySubject.stderr.contains("main@\(second.prefix(7)) skipped ([skip ci] in its message)"), bySubject.stderr)
        XCTAssertEqual(try box.pipeline(["history"]).stdout.contains("#1"), false, "a skipped push started something")

        // ci.pipeline picks one; ci.variable sets a declared variable.
        let third = try box.commit("three")
        let picked = try box.pushAnswered(extra: ["-o", "ci.pipeline=b", "-o", "ci.variable=GREETING=bonjour tout le monde", "-o", "other.tool=kept"])
        XCTAssertTrue(picked.stderr.contains("b #1 queued for main@\(third.prefix(7))"), picked.stderr)
        XCTAssertFalse(picked.stderr.contains("a #1"), picked.stderr)
        try box.waitForStatus("b#1", "Succeeded")
        XCTAssertTrue(try box.pipeline(["logs", "b#1", "--action", "Say"]).stdout.contains("b says bonjour tout le monde-42\n"))
        let shown = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["show", "b#1", "--json"]).stdout.utf8)) as? [String: Any]
        let variables = (shown?["pipelineExecution"] as? [String: Any])?["variables"] as? [[String: Any]]
        XCTAssertEqual(variables?.first?["resolvedValue"] as? String, "bonjour tout le monde", "\(String(describing: shown))")

        let missing = try box.pushAnswered(["HEAD:refs/heads/other"], extra: ["-o", "ci.pipeline=zz"])
        XCTAssertTrue(missing.stderr.contains("push option ci.pipeline=zz: other@\(third.prefix(7)) has no pipeline zz (there: a, b); nothing runs"), missing.stderr)

        // An undeclared variable fails the execution, saying which; the note says it too.
        let fourth = try box.commit("four")
        let undeclared = try box.pushAnswered(extra: ["-o", "ci.pipeline=a", "-o", "ci.variable=NOPE=x"])
        XCTAssertTrue(undeclared.stderr.contains("a #1 failed (push option ci.variable)"), undeclared.stderr)
        let note = try box.waitForNote(fourth)
        XCTAssertTrue(note.contains("push option ci.variable=NOPE=…: pipeline a declares no variable `NOPE` (declared: GREETING)"), note)

        // An unknown ci.* option refuses the push before the ref moves; a malformed variable too.
        let before = try box.git(["rev-parse", "main"], in: box.server).stdout
        try box.commit("five")
        for option in ["ci.bogus", "ci.variable=novalue"] {
            let refused = try box.git(["push", "origin", "-o", option, "HEAD:main"], allowFailure: true)
            XCTAssertNotEqual(refused.status, 0, refused.output)
            XCTAssertTrue(refused.stderr.contains(option == "ci.bogus" ? "unknown push option `ci.bogus` (git-pipeline reads ci.skip, ci.wait"
                                                                      : "push option `ci.variable=novalue` is not ci.variable=NAME=VALUE"), refused.stderr)
            XCTAssertEqual(try box.git(["rev-parse", "main"], in: box.server).stdout, before, "the refused push moved main")
        }

        // uninstall gives git's setting back.
        try box.pipeline(["uninstall"])
        XCTAssertNotEqual(try box.git(["config", "receive.advertisePushOptions"], in: box.server, allowFailure: true).status, 0)
    }

    /// `-o ci.wait`: the push returns when its execution has ended, having shown each action start
    /// and end, the failure with its log's last lines, and the end; at an approval it stops waiting.
    func testCiWaitStreamsTheExecutionIntoThePush() throws {
        let box = try Sandbox()
        let failing = Fixture.pipeline(stages: Fixture.stage("Build", Fixture.commands("Compile", ["sleep 1", "echo compiled-$((2*3))"])),
                                       Fixture.stage("Test", Fixture.commands("Check", ["echo first-$((1+1))", "echo oops-$((3*3))", "exit 3"], category: "Test")))
        let commit = try box.commit("one", files: [".pipeline.yml": failing])
        let started = Date()
        // No runner yet: the hook starts one and waits through it all the same.
        let push = try box.push(extra: ["-o", "ci.wait"])
        let took = Date().timeIntervalSince(started)
        let text = push.stderr
        XCTAssertTrue(text.contains("remote: git-pipeline: server #1 queued for main@\(commit.prefix(7))"), text)
        XCTAssertTrue(text.contains("remote: git-pipeline: server #1 Build/Compile started"), text)
        XCTAssertTrue(text.range(of: #"server #1 Build/Compile Succeeded in \d+\.\ds"#, options: .regularExpression) != nil, text)
        XCTAssertTrue(text.contains("remote: git-pipeline: server #1 Test/Check Failed"), text)
        XCTAssertTrue(text.contains("remote: git-pipeline:   | oops-9"), text)
        XCTAssertTrue(text.contains("remote: git-pipeline: server #1 Failed in "), text)
        XCTAssertTrue(text.contains("git log --notes=ci -1 \(commit.prefix(7))"), text)
        XCTAssertFalse(text.contains(HookEndMarker.text), "the end marker is not shown")
        // The push returned once the execution had ended, not before.
        XCTAssertEqual(try box.executionStatus("server#1"), "Failed")
        XCTAssertGreaterThan(took, 1.0)

        // At an approval the push stops waiting and says how to go on.
        let approval = Fixture.pipeline(stages: Fixture.stage("Gate", "- name: Approve\n  category: Approval\n  provider: Manual"))
        try box.commit("two", files: [".pipeline.yml": approval])
        let waiting = try box.pushAnswered(extra: ["-o", "ci.wait"])
        XCTAssertTrue(waiting.stderr.contains("server #2 Gate/Approve waits for an approval: git pipeline approve server#2 --stage Gate --action Approve; the push stops waiting here"),
                      waiting.stderr)
        XCTAssertEqual(try box.executionStatus("server#2"), "InProgress")
        try box.pipeline(["reject", "server#2", "--stage", "Gate", "--action", "Approve", "--summary", "test over"])
        try box.waitForStatus("server#2", "Failed")
    }
}

/// The hook wire's end marker as text, for asserting that it never reaches the pusher.
enum HookEndMarker { static let text = "\u{0}end" }

