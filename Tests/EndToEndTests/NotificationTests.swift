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

    /// An SMTP receiver on 127.0.0.1 (Python's smtpd): writes each message it gets to `folder/N.eml`
    /// with its envelope recipients on the first line.
    static let smtpReceiver = """
        import asyncore, smtpd, sys, warnings
        warnings.simplefilter("ignore")
        folder = sys.argv[1]
        count = [0]
        class Receiver(smtpd.SMTPServer):
            def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
                count[0] += 1
                with open("%s/%d.eml" % (folder, count[0]), "wb") as f:
                    f.write((" ".join(rcpttos) + "\\n").encode() + (data if isinstance(data, bytes) else data.encode()))
        server = Receiver(("127.0.0.1", 0), None)
        print(server.socket.getsockname()[1], flush=True)
        asyncore.loop()
        """

    /// A definition's `notifications:`: rules on its own pipeline's events, to a webhook and to mail
    /// through the system's sendmail (Debian's msmtp here, relaying to an SMTP receiver on
    /// 127.0.0.1); a `command` there is refused at push time.
    func testADefinitionsNotificationsGoToItsWebhookAndMail() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/msmtp") else { throw XCTSkip("msmtp is not installed (make deps installs it)") }
        let box = try Sandbox()
        let bodies = box.root + "/bodies.txt", mails = box.root + "/mails"
        try FileManager.default.createDirectory(atPath: mails, withIntermediateDirectories: true)
        func start(_ script: String, _ arguments: [String]) throws -> (Process, String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", script] + arguments
            let port = Pipe()
            process.standardOutput = port
            try process.run()
            return (process, String(decoding: port.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let (web, webPort) = try start(Self.receiver, [bodies, "0"])
        defer { web.terminate() }
        let (smtp, smtpPort) = try start(Self.smtpReceiver, [mails])
        defer { smtp.terminate() }
        XCTAssertNotNil(Int(smtpPort), smtpPort)
        try box.git(["config", "pipeline.sendmail", "/usr/bin/msmtp --host=127.0.0.1 --port=\(smtpPort) --from=ci@localhost --auth=off --tls=off"], in: box.server)
        try box.git(["config", "pipeline.runnerIdleSeconds", "30"], in: box.server)

        let definition = """
            notifications:
              - name: broken
                detailType: CodePipeline Pipeline Execution State Change
                state: [FAILED]
                webhook: http://127.0.0.1:\(webPort)/from-definition
                mail: dev@example.com
            """ + "\n" + Sandbox.quickPipeline("exit 3")
        let commit = try box.commit("bad", files: [".pipeline.yml": definition])
        try box.push()
        try box.waitForStatus("server#1", "Failed")
        let body = try box.waitForFile(bodies, timeout: 30)
        XCTAssertTrue(body.hasPrefix("/from-definition "), body)
        XCTAssertTrue(body.contains("\"FAILED\""), body)
        XCTAssertEqual(body.split(separator: "\n").count, 1, "only the FAILED pipeline event:\n\(body)")
        let mail = try box.waitForFile(mails + "/1.eml", timeout: 30)
        XCTAssertTrue(mail.hasPrefix("dev@example.com\n"), mail)
        XCTAssertTrue(mail.contains("Subject: [git-pipeline] ") && mail.contains("server #1  FAILED"), mail)
        XCTAssertTrue(mail.contains("\"execution-id\""), mail)
        _ = commit

        // A command in a pushed definition would run on the server outside the sandbox: refused.
        let sneaky = """
            notifications:
              - name: shell
                state: FAILED
                command: touch /tmp/owned
            """ + "\n" + Sandbox.quickPipeline()
        try box.commit("sneaky", files: [".pipeline.yml": sneaky])
        let push = try box.push()
        try box.waitForStatus("server#2", "Failed")
        let show = try box.pipeline(["show", "server#2"]).stdout
        XCTAssertTrue(show.contains("may not run a command on the server"), show + push.output)
        XCTAssertTrue(show.contains(".pipeline.yml:4:"), show)
        let lint = try box.run(Sandbox.binary, ["lint", box.clone + "/.pipeline.yml"], allowFailure: true)
        XCTAssertEqual(lint.status, 1)
        XCTAssertTrue(lint.output.contains("may not run a command on the server"), lint.output)
    }
}
