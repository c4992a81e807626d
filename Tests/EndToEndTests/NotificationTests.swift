import Foundation
import XCTest

/// Notification rules in git config, as EventBridge rules: a webhook on 127.0.0.1 receives the
/// events a rule matches (retried when it fails), a command gets the event on stdin, a target
/// that never answers shows in `doctor`.
final class NotificationTests: XCTestCase {
    /// An HTTP receiver on 127.0.0.1: answers 500 to the first `failFirst` requests, then 200;
    /// writes each body it accepts as one line of `bodies`.
    static let receiver = """
        import http.server, sys, json
        bodies, fail_first = sys.argv[1], int(sys.argv[2])
        count = [0]
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                count[0] += 1
                if count[0] <= fail_first:
                    self.send_response(500); self.end_headers(); return
                with open(bodies, "a") as f: f.write(self.path + " " + body.decode() + "\\n")
                self.send_response(204); self.end_headers()
            def log_message(self, *args): pass
        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """

    func testRulesDeliverMatchingEventsToWebhooksAndCommandsWithRetries() throws {
        let box = try Sandbox()
        let bodies = box.root + "/bodies.txt", commandOut = box.root + "/command.txt"
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        receiver.arguments = ["python3", "-c", Self.receiver, bodies, "1"]
        let port = Pipe()
        receiver.standardOutput = port
        try receiver.run()
        defer { receiver.terminate() }
        let portNumber = String(decoding: port.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertNotNil(Int(portNumber), portNumber)

        let git = { (args: [String]) in try box.git(["config"] + args, in: box.server) }
        try git(["notification.failures.state", "FAILED"])
        try git(["notification.failures.detailType", "CodePipeline Pipeline Execution State Change"])
        try git(["notification.failures.webhook", "http://127.0.0.1:\(portNumber)/hooks/secret-token-123"])
        try git(["notification.chat.state", "SUCCEEDED"])
        try git(["notification.chat.pipeline", "server"])
        try git(["notification.chat.detailType", "CodePipeline Pipeline Execution State Change"])
        try git(["notification.chat.format", "slack"])
        try git(["notification.chat.webhook", "http://127.0.0.1:\(portNumber)/chat"])
        try git(["notification.chat.command", "cat >> \(commandOut)"])
        try git(["notification.nowhere.state", "SUCCEEDED"])
        try git(["notification.nowhere.webhook", "http://127.0.0.1:1/closed"])
        try box.git(["config", "pipeline.runnerIdleSeconds", "60"], in: box.server)

        try box.commit("good", files: [".pipeline.yml": Sandbox.quickPipeline()])
        try box.push()
        try box.waitForStatus("server#1", "Succeeded")
        try box.commit("bad", files: [".pipeline.yml": Sandbox.quickPipeline("exit 4")])
        try box.push()
        try box.waitForStatus("server#2", "Failed")

        // The failure webhook was refused once (500) and delivered on its retry; the chat one got Slack's text.
        let delivered = try box.waitForFile(bodies, timeout: 30)
        let deadline = Date().addingTimeInterval(30)
        var lines: [String] = []
        while Date() < deadline {
            lines = (try? String(contentsOfFile: bodies, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
            if lines.count >= 2 { break }
            usleep(200_000)
        }
        XCTAssertEqual(lines.count, 2, delivered)
        let failure = try XCTUnwrap(lines.first { $0.hasPrefix("/hooks/secret-token-123 ") })
        let event = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(failure.dropFirst("/hooks/secret-token-123 ".count).utf8)) as? [String: Any])
        XCTAssertEqual(event["detail-type"] as? String, "CodePipeline Pipeline Execution State Change")
        XCTAssertEqual((event["detail"] as? [String: Any])?["state"] as? String, "FAILED")
        XCTAssertEqual((event["detail"] as? [String: Any])?["execution-id"] as? String, try executionId(box, "server#2"))
        let chat = try XCTUnwrap(lines.first { $0.hasPrefix("/chat ") })
        let text = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(chat.dropFirst("/chat ".count).utf8)) as? [String: Any])?["text"] as? String)
        XCTAssertTrue(text.contains("server #1  SUCCEEDED"), text)
        // The command got the same event on stdin.
        let command = try box.waitForFile(commandOut)
        XCTAssertTrue(command.contains("\"state\":\"SUCCEEDED\""), command)

        // The target that never answers: tried 5 times (1+2+4+8 s apart), then in doctor, without its URL path.
        let given = Date().addingTimeInterval(40)
        var doctor = ""
        while Date() < given {
            doctor = try box.pipeline(["doctor"], allowFailure: true).stdout
            if doctor.contains("could not be delivered") { break }
            sleep(1)
        }
        XCTAssertTrue(doctor.contains("notifications: 3 rules (failures, chat, nowhere)"), doctor)
        XCTAssertTrue(doctor.contains("of rule nowhere to webhook http://127.0.0.1:1/…: cannot connect to 127.0.0.1:1"), doctor)
        let runnerLog = (try? String(contentsOfFile: box.server + "/pipeline/runner.log", encoding: .utf8)) ?? ""
        XCTAssertTrue(runnerLog.contains("notification nowhere: webhook http://127.0.0.1:1/… failed 5 times, gave up"), runnerLog)
        XCTAssertFalse(runnerLog.contains("secret-token-123") || doctor.contains("secret-token-123"), "a webhook's path is not logged")
    }

    func executionId(_ box: Sandbox, _ name: String) throws -> String? {
        let shown = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["show", name, "--json"]).stdout.utf8)) as? [String: Any]
        return (shown?["pipelineExecution"] as? [String: Any])?["pipelineExecutionId"] as? String
    }
}
