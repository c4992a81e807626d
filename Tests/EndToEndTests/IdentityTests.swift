import Foundation
import XCTest

/// Who acts comes from the system, never from $USER; approvals can be limited; every control
/// action is in the audit trail with its actor.
final class IdentityTests: XCTestCase {
    static func definition(approvers: String?) -> String {
        Fixture.pipeline(stages: Fixture.quickStage(), """
            - name: Gate
              actions:
                - name: Release
                  category: Approval
                  provider: Manual
            """ + (approvers.map { "\n      approvers: \($0)" } ?? ""), Fixture.shipStage)
    }

    func command(_ box: Sandbox, _ arguments: [String], as hosting: String? = nil, allowFailure: Bool = false) throws -> Sandbox.Result {
        var environment = ["USER": "the-cto", "LOGNAME": "the-cto"]
        if let hosting { environment["GIT_PIPELINE_USER"] = hosting }
        return try box.run(Sandbox.binary, arguments, in: box.server, environment: environment, allowFailure: allowFailure)
    }

    func auditEvents(_ box: Sandbox) throws -> [[String: Any]] {
        try box.pipeline(["events", "--json"]).stdout.split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["detail-type"] as? String == "AWS API Call via CloudTrail" }.compactMap { $0["detail"] as? [String: Any] }
    }

    func testApproversAreCheckedAgainstTheSystemIdentityAndEveryDecisionIsAudited() throws {
        guard getuid() == 0 else { print("IdentityTests: skipped: groupadd/useradd need root"); return }
        let group = "gp-release", member = "gp-dave"
        _ = try? Sandbox.runQuietly("/usr/sbin/groupadd", [group])
        _ = try? Sandbox.runQuietly("/usr/sbin/useradd", ["-M", "-N", "-G", group, member])
        defer {
            _ = try? Sandbox.runQuietly("/usr/sbin/userdel", [member])
            _ = try? Sandbox.runQuietly("/usr/sbin/groupdel", [group])
        }
        let box = try Sandbox()
        let system = try box.run("id", ["-un"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let first = try box.commit("one", files: [".pipeline.yml": Self.definition(approvers: #"[carol, "@gp-release"]"#)])
        try box.push()
        let deadline = Date().addingTimeInterval(30)
        while !(try box.note(first)).contains("waiting for approval") && Date() < deadline { usleep(100_000) }
        let approve = ["approve", "server#1", "--stage", "Gate", "--action", "Release"]

        // $USER says the-cto; the system says who really runs the command, and it is not listed.
        let spoofed = try command(box, approve, allowFailure: true)
        XCTAssertEqual(spoofed.status, 1)
        XCTAssertTrue(spoofed.stderr.contains("\(system) may not decide Gate/Release of server #1: its approvers are carol, @\(group)"), spoofed.stderr)
        // The hosting layer's name counts only when the command runs as the hosting account.
        let unconfigured = try command(box, approve, as: "carol", allowFailure: true)
        XCTAssertEqual(unconfigured.status, 1, "GIT_PIPELINE_USER must be ignored without pipeline.hostingUser")
        try box.git(["config", "pipeline.hostingUser", system], in: box.server)
        let mallory = try command(box, approve, as: "mallory", allowFailure: true)
        XCTAssertEqual(mallory.status, 1)
        XCTAssertTrue(mallory.stderr.contains("mallory (as \(system)) may not decide"), mallory.stderr)
        // A member of the listed group may.
        try command(box, approve + ["--summary", "ship it"], as: member)
        let note = try box.waitForNote(first)
        XCTAssertTrue(note.hasPrefix("server #1 Succeeded"), note)
        XCTAssertTrue(note.contains("approved by \(member) (as \(system)): ship it"), note)

        // pipeline.approvers limits approvals that name no approvers of their own.
        try box.git(["config", "pipeline.approvers", "carol"], in: box.server)
        let second = try box.commit("two", files: [".pipeline.yml": Self.definition(approvers: nil)])
        try box.push()
        while !(try box.note(second)).contains("waiting for approval") && Date() < deadline.addingTimeInterval(30) { usleep(100_000) }
        let approveSecond = ["approve", "server#2", "--stage", "Gate", "--action", "Release"]
        XCTAssertTrue(try command(box, approveSecond, as: member, allowFailure: true).stderr.contains("(pipeline.approvers)"))
        try command(box, approveSecond, as: "carol")
        XCTAssertTrue(try box.waitForNote(second).hasPrefix("server #2 Succeeded"))

        // Start, transition and stop are audited too, with the actor.
        try command(box, ["transition", "disable", "server", "--stage", "Deploy", "--reason", "freeze"], as: "carol")
        try command(box, ["transition", "enable", "server", "--stage", "Deploy"], as: "carol")
        try command(box, ["start", "server"], as: "erin")
        try box.waitForStatus("server#3", "InProgress")
        try command(box, ["stop", "server#3", "--reason", "not now"], as: "erin")
        XCTAssertEqual(try box.waitForExecutions(3).first?["statusSummary"] as? String, "stopped by erin (as \(system)): not now")
        let audit = try auditEvents(box)
        func calls(_ name: String) -> [[String: Any]] { audit.filter { $0["eventName"] as? String == name } }
        let decisions = calls("PutApprovalResult")
        XCTAssertEqual(decisions.count, 6, "three refusals, one allowed for #1; one refusal and one allowed for #2")
        XCTAssertEqual(decisions.filter { $0["errorCode"] != nil }.count, 4)
        let allowed = decisions.filter { $0["errorCode"] == nil }.compactMap { ($0["userIdentity"] as? [String: Any])?["userName"] as? String }
        XCTAssertEqual(allowed, [member, "carol"])
        XCTAssertEqual(decisions.compactMap { ($0["userIdentity"] as? [String: Any])?["userName"] as? String }.filter { $0 == "the-cto" }, [],
                       "$USER never names anyone")
        XCTAssertEqual(calls("DisableStageTransition").count, 1)
        XCTAssertEqual(calls("EnableStageTransition").count, 1)
        XCTAssertEqual((calls("StartPipelineExecution").first?["userIdentity"] as? [String: Any])?["userName"] as? String, "erin")
        XCTAssertEqual((calls("StopPipelineExecution").first?["requestParameters"] as? [String: Any])?["reason"] as? String, "not now")
        let text = try box.pipeline(["events"]).stdout
        XCTAssertTrue(text.contains("PutApprovalResult by mallory  Gate/Release  REFUSED:"), text)
    }
}

extension Sandbox {
    /// Runs a system command, ignoring what it says (user and group set-up).
    @discardableResult
    static func runQuietly(_ executable: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
