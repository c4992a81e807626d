import Foundation
import XCTest

/// `git pipeline serve` in a real Chromium (Debian's, headless, driven over the DevTools protocol
/// by Tests/Browser/cdp_driver.py): a push appears on an open page, a live log shows a line printed
/// after the page opened, the approve button lets the execution go on as the signed-in user, and a
/// POST without a session or without the form's CSRF token is refused. Screenshots of the main
/// pages land in .build/screenshots/ (not committed).
final class WebConsoleBrowserTests: XCTestCase {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// `git pipeline serve` in the background, with the port it printed.
    final class Server: @unchecked Sendable {
        let process = Process()
        let port: Int
        final class Output: @unchecked Sendable {
            let lock = NSLock()
            var data = Data()
            var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
        }
        let output = Output()

        init(_ arguments: [String], in directory: String) throws {
            process.executableURL = URL(fileURLWithPath: Sandbox.binary)
            process.arguments = ["serve"] + arguments + ["--listen", "127.0.0.1:0"]
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("GIT_") }
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            let output = output
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                output.lock.lock(); output.data.append(data); output.lock.unlock()
            }
            try process.run()
            let deadline = Date().addingTimeInterval(30)
            var found: Int?
            while found == nil && Date() < deadline && process.isRunning {
                usleep(50_000)
                let text = output.text
                if let range = text.range(of: #"console on http://127\.0\.0\.1:(\d+)/"#, options: .regularExpression) {
                    found = Int(text[range].split(separator: ":").last!.dropLast())
                }
            }
            guard let found else { throw SandboxError(message: "serve did not say where it listens:\n\(output.text)") }
            port = found
        }

        var base: String { "http://127.0.0.1:\(port)" }
        func stop() { if process.isRunning { process.terminate(); process.waitUntilExit() } }
    }

    /// The DevTools driver: one JSON command per line in, one answer per line out.
    final class Browser: @unchecked Sendable {
        let process = Process()
        let input = Pipe(), output = Pipe()
        private var buffer = Data()

        init() throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", WebConsoleBrowserTests.repositoryRoot + "/Tests/Browser/cdp_driver.py"]
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.standardError
            try process.run()
        }

        @discardableResult
        func send(_ command: [String: Any], file: StaticString = #filePath, line: UInt = #line) throws -> Any? {
            input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: command) + Data("\n".utf8))
            while !buffer.contains(UInt8(ascii: "\n")) {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { throw SandboxError(message: "the browser driver ended") }
                buffer.append(chunk)
            }
            let end = buffer.firstIndex(of: UInt8(ascii: "\n"))!
            let answer = try JSONSerialization.jsonObject(with: buffer[..<end]) as? [String: Any] ?? [:]
            buffer.removeSubrange(...end)
            guard answer["ok"] as? Bool == true else {
                throw SandboxError(message: "browser: \(command["cmd"] ?? "?") failed: \(answer["error"] ?? "?")")
            }
            return answer["value"]
        }

        func goto(_ url: String) throws { try send(["cmd": "goto", "url": url]) }
        func eval(_ js: String) throws -> Any? { try send(["cmd": "eval", "expr": js]) }
        func wait(_ js: String, timeout: Double = 30) throws { try send(["cmd": "wait", "expr": js, "timeout": timeout]) }
        func text(_ selector: String) throws -> String { (try eval("(document.querySelector(\(Sandbox.jsonString(selector))) || {}).textContent || ''") as? String) ?? "" }
        func screenshot(_ name: String) throws {
            let folder = WebConsoleBrowserTests.repositoryRoot + "/.build/screenshots"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try send(["cmd": "screenshot", "path": folder + "/console-\(name).png"])
        }

        func quit() {
            _ = try? send(["cmd": "quit"])
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
    }

    /// An HTTP request from outside the browser, by curl (no redirects followed): status and body.
    func request(_ box: Sandbox, _ method: String, _ url: String, headers: [String: String] = [:], body: String? = nil) throws -> (status: Int, body: String) {
        var arguments = ["-s", "-X", method, "-o", box.root + "/curl-body", "-w", "%{http_code}"]
        for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
        if let body { arguments += ["--data-binary", body] }
        let status = Int(try box.run("curl", arguments + [url]).stdout) ?? 0
        return (status, (try? String(contentsOfFile: box.root + "/curl-body", encoding: .utf8)) ?? "")
    }

    func testPushLiveLogApproveAndRefusalsInARealBrowser() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") else {
            throw XCTSkip("chromium is not installed (make deps installs Debian's chromium)")
        }
        let box = try Sandbox()
        let token = try box.pipeline(["serve", "token", "add", "alice"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(token.hasPrefix("gpt_"), token)
        XCTAssertFalse(try String(contentsOfFile: box.server + "/pipeline/console-tokens", encoding: .utf8).contains(token), "tokens are kept hashed")
        let server = try Server(["--git-dir", box.server], in: box.root)
        defer { server.stop() }
        let browser = try Browser()
        defer { browser.quit() }

        // Signing in with the token, from the page a visitor is sent to.
        try browser.goto(server.base + "/server")
        XCTAssertTrue((try browser.eval("location.pathname") as? String) == "/login", "an unsigned visitor is sent to sign in")
        _ = try browser.eval("""
            document.querySelector('input[name=user]').value = 'alice';
            document.querySelector('input[name=secret]').value = \(Sandbox.jsonString(token));
            document.querySelector('#login').submit(); true
            """)
        try browser.wait("location.pathname === '/server' && document.readyState === 'complete' && !!document.querySelector('section.repository')")
        try browser.wait("document.body.getAttribute('data-live-ready') === '1'")
        XCTAssertTrue(try browser.text("main").contains("No executions yet"))

        // A push appears on the open page without a reload (the marker survives).
        _ = try browser.eval("window.__sameDocument = 'yes'")
        let wait = "for i in $(seq 600); do test -e \"$PIPELINE_REPOSITORY/../exchange/go\" && break; sleep 0.1; done"
        let definition = Fixture.pipeline(stages: Fixture.stage("Build", Fixture.commands("Slow", ["echo before-$((1+1))", wait, "echo after-$((2+1))"])),
                                          Fixture.stage("Gate", "- name: Approve\n  category: Approval\n  provider: Manual"),
                                          Fixture.shipStage)
        try box.commit("first <b>change</b>", files: [".pipeline.yml": definition])
        try box.push()
        try browser.wait("Array.from(document.querySelectorAll('main a')).some(a => a.textContent === '#1')")
        XCTAssertEqual(try browser.eval("window.__sameDocument") as? String, "yes", "the page changed in place")
        XCTAssertTrue(try browser.text("main").contains("first <b>change</b>"), "the commit message is shown as text, not markup")
        try browser.screenshot("repository")

        // The running action's log, live: a line printed after the page opened shows up in it.
        try box.waitForStatus("server#1", "InProgress")
        let show = try JSONSerialization.jsonObject(with: Data(box.pipeline(["show", "server#1", "--json"]).stdout.utf8)) as? [String: Any]
        let stages = show?["stageStates"] as? [[String: Any]] ?? []
        let slow = (stages.first { $0["stageName"] as? String == "Build" }?["actionStates"] as? [[String: Any]])?.first
        let actionId = ((slow?["latestExecution"] as? [String: Any])?["actionExecutionId"] as? String)?.split(separator: ":").last.map(String.init) ?? "?"
        try browser.goto(server.base + "/server/server/1/log/\(actionId)")
        try browser.wait("document.getElementById('log').textContent.includes('before-2')")
        try browser.wait("document.getElementById('log').getAttribute('data-streaming') === '1'")
        _ = try browser.eval("window.__sameDocument = 'log'")
        XCTAssertFalse(try browser.text("#log").contains("after-3"))
        FileManager.default.createFile(atPath: box.exchange + "/go", contents: Data())
        try browser.wait("document.getElementById('log').textContent.includes('after-3')")
        try browser.wait("document.getElementById('log').getAttribute('data-ended') === 'Succeeded'")
        XCTAssertEqual(try browser.eval("window.__sameDocument") as? String, "log")
        let log = try browser.text("#log")
        XCTAssertEqual(log.components(separatedBy: "before-2\n").count, 2, "no line twice:\n\(log)")
        try browser.screenshot("log")

        // Refused: a POST with no session, a bad token, and the browser's own session without the
        // form's CSRF token. The execution stays waiting.
        try box.waitForStatus("server#1", "InProgress")
        let approve = server.base + "/server/server/1/approve"
        let anonymous = try request(box, "POST", approve, headers: ["Content-Type": "application/x-www-form-urlencoded"], body: "stage=Gate&action=Approve")
        XCTAssertEqual(anonymous.status, 401, anonymous.body)
        let forged = try request(box, "POST", server.base + "/api/server/server/1/approve", headers: ["Authorization": "Bearer gpt_00", "Content-Type": "application/x-www-form-urlencoded"],
                                 body: "stage=Gate&action=Approve")
        XCTAssertEqual(forged.status, 401, forged.body)
        let withoutToken = try browser.eval("""
            fetch('/server/server/1/approve', {method: 'POST', credentials: 'same-origin',
              headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'stage=Gate&action=Approve'}).then(r => r.status)
            """) as? Int
        XCTAssertEqual(withoutToken, 403)
        // The browser logs that refused request as a failed load: expected, so cleared here.
        let refusedLoads = try browser.send(["cmd": "errors", "clear": true]) as? [String] ?? []
        XCTAssertEqual(refusedLoads.count, 1, "\(refusedLoads)")
        XCTAssertEqual(try request(box, "GET", server.base + "/api/server/status").status, 401, "reads need a user unless --public")
        XCTAssertTrue(try box.pipeline(["show", "server#1"]).stdout.contains("Approve"), "still waiting")

        // Approve from the execution page: the execution goes on and ends, as alice.
        try browser.goto(server.base + "/server/server/1")
        try browser.wait("!!document.querySelector('form.approval')")
        try browser.screenshot("execution-waiting")
        _ = try browser.eval("""
            document.querySelector('form.approval input[name=summary]').value = 'looks good from the browser';
            document.querySelector('form.approval button.approve').click(); true
            """)
        try box.waitForStatus("server#1", "Succeeded")
        try browser.wait("document.querySelector('.titlebar .pill') && document.querySelector('.titlebar .pill').textContent === 'Succeeded'")
        let text = try box.pipeline(["show", "server#1"]).stdout
        XCTAssertTrue(text.contains("alice"), "the approval names the signed-in user:\n\(text)")
        XCTAssertTrue(try box.note(try box.git(["rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)).contains("looks good from the browser"))
        try browser.screenshot("execution")
        // The API gives the CLI's JSON.
        let api = try request(box, "GET", server.base + "/api/server/executions/server%231", headers: ["Authorization": "Bearer \(token)"])
        XCTAssertEqual(api.status, 200)
        XCTAssertEqual(try JSONSerialization.jsonObject(with: Data(api.body.utf8)) as? NSDictionary,
                       try JSONSerialization.jsonObject(with: Data(box.pipeline(["show", "server#1", "--json"]).stdout.utf8)) as? NSDictionary)

        // The pipeline page: a second push shows up in the diagram and the list without a reload.
        try browser.goto(server.base + "/server/server")
        try browser.wait("document.body.getAttribute('data-live-ready') === '1'")
        _ = try browser.eval("window.__sameDocument = 'pipeline'")
        try box.commit("second")
        try box.push()
        try browser.wait("!!document.querySelector('tr[data-execution=\"2\"]')")
        try browser.wait("!!document.querySelector('section.stage[data-stage=\"Gate\"] form.approval')")
        XCTAssertEqual(try browser.eval("window.__sameDocument") as? String, "pipeline")
        try browser.wait("document.querySelector('img.badge').getAttribute('src').endsWith('v=2-InProgress')")
        try browser.screenshot("pipeline")
        let badge = try request(box, "GET", server.base + "/server/server/badge.svg?branch=main", headers: ["Authorization": "Bearer \(token)"])
        XCTAssertTrue(badge.body.contains("<svg") && badge.body.contains("InProgress"), badge.body)
        try browser.goto(server.base + "/server/server/history?status=Succeeded")
        XCTAssertEqual(try browser.eval("document.querySelectorAll('tr[data-execution]').length") as? Int, 1)
        try browser.screenshot("history")
        XCTAssertEqual(try browser.send(["cmd": "errors"]) as? [String], [], "no script or console errors (CSP included)")
        _ = try box.pipeline(["stop", "server#2", "--abandon"], allowFailure: true)
    }

    /// `--root`: every installed repository in the folder, by name; `pipeline.webUsers` limits who
    /// may press a repository's buttons; `--public` opens the reads and nothing else.
    func testARootOfRepositoriesWithWebUsersAndPublicReads() throws {
        let one = try Sandbox(), two = try Sandbox()
        let root = one.root + "/served"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/alpha.git", withDestinationPath: one.server)
        try FileManager.default.createSymbolicLink(atPath: root + "/beta.git", withDestinationPath: two.server)
        try one.commit("one", files: [".pipeline.yml": Sandbox.quickPipeline()])
        try one.push()
        try one.waitForStatus("server#1", "Succeeded")
        try two.git(["config", "pipeline.webUsers", "bob"], in: two.server)
        let token = try one.run(Sandbox.binary, ["serve", "token", "add", "alice", "--root", root]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/.git-pipeline/console-tokens"))
        let server = try Server(["--root", root, "--public"], in: one.root)
        defer { server.stop() }
        let listing = try request(one, "GET", server.base + "/api")
        XCTAssertEqual(listing.status, 200, "--public: reads need no user")
        let names = ((try JSONSerialization.jsonObject(with: Data(listing.body.utf8)) as? [String: Any])?["repositories"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        XCTAssertEqual(names, ["alpha", "beta"])
        XCTAssertTrue(try request(one, "GET", server.base + "/").body.contains("alpha"))
        XCTAssertTrue(try request(one, "GET", server.base + "/alpha/server/badge.svg").body.contains("Succeeded"))
        XCTAssertEqual(try request(one, "GET", server.base + "/gamma").status, 404)
        // The buttons: still a user, and beta lists only bob.
        let form = ["Content-Type": "application/x-www-form-urlencoded"]
        XCTAssertEqual(try request(one, "POST", server.base + "/api/alpha/server/start", headers: form).status, 401)
        let refused = try request(one, "POST", server.base + "/api/beta/server/start", headers: form.merging(["Authorization": "Bearer \(token)"]) { a, _ in a })
        XCTAssertEqual(refused.status, 403, refused.body)
        XCTAssertTrue(refused.body.contains("pipeline.webUsers"), refused.body)
        let started = try request(one, "POST", server.base + "/api/alpha/server/start", headers: form.merging(["Authorization": "Bearer \(token)"]) { a, _ in a },
                                  body: "variables=")
        XCTAssertEqual(started.status, 200, started.body)
        XCTAssertTrue(started.body.contains("server #2 started"), started.body)
        try one.waitForStatus("server#2", "Succeeded")
        let show = try one.pipeline(["show", "server#2", "--json"]).stdout
        XCTAssertTrue(show.contains("alice"), "started by the token's user:\n\(show)")
    }

    /// The other buttons and the downloads, through the API as a script uses them: retry a failed
    /// execution, disable a transition (the next execution waits at it, as the diagram shows), stop
    /// the waiting one, enable it again, roll a stage back; the artifact's zip is `archive`'s bytes
    /// and a log's raw text is its file's.
    func testButtonsAndDownloadsThroughTheAPI() throws {
        let box = try Sandbox()
        try box.git(["config", "pipeline.runnerIdleSeconds", "30"], in: box.server)
        let token = try box.pipeline(["serve", "token", "add", "dana"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try Server(["--git-dir", box.server], in: box.root)
        defer { server.stop() }
        let auth = ["Authorization": "Bearer \(token)", "Content-Type": "application/x-www-form-urlencoded"]
        func post(_ path: String, _ body: String) throws -> (status: Int, body: String) { try request(box, "POST", server.base + "/api/server/server/" + path, headers: auth, body: body) }
        func get(_ path: String) throws -> String { try request(box, "GET", server.base + path, headers: auth).body }

        let check = "test -e \"$PIPELINE_REPOSITORY/../exchange/ok\" || { echo not yet; exit 5; }"
        let commit = try box.commit("one", files: [".pipeline.yml": Fixture.pipeline(stages: Fixture.stage("Build", Fixture.commands("Check", [check])), Fixture.shipStage)])
        try box.push()
        try box.waitForStatus("server#1", "Failed")
        XCTAssertTrue(try get("/server/server/1").contains("Retry failed actions"))

        // Downloads: the SourceArtifact is archive's zip, byte for byte; the raw log is the file.
        _ = try box.pipeline(["archive", commit, "-o", box.root + "/expected.zip"])
        _ = try box.run("curl", ["-s", "-o", box.root + "/got.zip", "-H", "Authorization: Bearer \(token)", server.base + "/server/server/1/artifacts/SourceArtifact"])
        XCTAssertEqual(FileManager.default.contents(atPath: box.root + "/got.zip"), FileManager.default.contents(atPath: box.root + "/expected.zip"))
        let show = try JSONSerialization.jsonObject(with: Data(box.pipeline(["show", "server#1", "--json"]).stdout.utf8)) as? [String: Any]
        let build = ((show?["stageStates"] as? [[String: Any]])?.first { $0["stageName"] as? String == "Build" }?["actionStates"] as? [[String: Any]])?.first
        let latest = build?["latestExecution"] as? [String: Any]
        let logPath = try XCTUnwrap(latest?["logPath"] as? String)
        let actionId = try XCTUnwrap((latest?["actionExecutionId"] as? String)?.split(separator: ":").last)
        XCTAssertEqual(try get("/server/server/1/log/\(actionId)/raw"), try String(contentsOfFile: logPath, encoding: .utf8))
        XCTAssertTrue(try get("/server/server/1/log/\(actionId)").contains("not yet"))

        // Retry, once the check can pass.
        FileManager.default.createFile(atPath: box.exchange + "/ok", contents: Data())
        let retried = try post("1/retry", "mode=failed")
        XCTAssertEqual(retried.status, 200, retried.body)
        try box.waitForStatus("server#1", "Succeeded")

        // A disabled transition holds the next execution at Deploy's entrance, as the page shows.
        let disabled = try post("transition", "stage=Deploy&enabled=false&reason=release+freeze")
        XCTAssertEqual(disabled.status, 200, disabled.body)
        try box.commit("two")
        try box.push()
        let deadline = Date().addingTimeInterval(30)
        var page = ""
        while Date() < deadline {
            page = try get("/server/server")
            if page.contains("#2 waiting") { break }
            usleep(200_000)
        }
        XCTAssertTrue(page.contains("#2 waiting"), page)
        XCTAssertTrue(page.contains("transition disabled: release freeze (by dana"), page)
        XCTAssertTrue(page.contains("Enable transition"), page)
        let stopped = try post("2/stop", "mode=abandon&reason=not+this+one")
        XCTAssertEqual(stopped.status, 200, stopped.body)
        try box.waitForStatus("server#2", "Stopped")
        XCTAssertEqual(try post("transition", "stage=Deploy&enabled=true").status, 200)
        XCTAssertFalse(try get("/server/server").contains("transition disabled"))
        let refused = try post("2/retry", "mode=sideways")
        XCTAssertEqual(refused.status, 409, "a bad field is the caller's mistake, said: \(refused.body)")
        XCTAssertTrue(refused.body.contains("mode is failed or all"), refused.body)

        // Roll Deploy back to #1's artifacts.
        let rolled = try post("rollback", "stage=Deploy&target=server%231")
        XCTAssertEqual(rolled.status, 200, rolled.body)
        try box.waitForStatus("server#3", "Succeeded")
        let history = try get("/server/server/history")
        XCTAssertTrue(history.contains("ManualRollback"), history)
        let events = try box.pipeline(["events"]).stdout
        XCTAssertTrue(events.contains("dana"), "the audit trail names the console's user:\n\(events)")
    }

    /// What a build wrote, on its execution's page: the test report with the failing test's name,
    /// masked as everywhere; no form of the secret on any page, log or API answer. And a deploy's
    /// ledger entry on its page.
    func testReportsMaskedSecretsAndTheDeployLedgerOnTheExecutionPage() throws {
        let box = try Sandbox()
        try box.pipeline(["secret", "set", "prod/token", "--value=" + SecretsNeverLeakTests.token])
        try box.pipeline(["secret", "set", "prod/key", "--value=" + SecretsNeverLeakTests.multiLine])
        let commit = try box.commit("secrets", files: [".pipeline.yml": SecretsNeverLeakTests.definition, "buildspec.yml": SecretsNeverLeakTests.buildspec,
                                                       "refuse.py": SecretsNeverLeakTests.refuse])
        try box.push()
        _ = try box.waitForNote(commit)
        let token = try box.pipeline(["serve", "token", "add", "erin"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try Server(["--git-dir", box.server], in: box.root)
        defer { server.stop() }
        let auth = ["Authorization": "Bearer \(token)"]
        let page = try request(box, "GET", server.base + "/server/server/1", headers: auth).body
        XCTAssertTrue(page.contains("<code>auth.login with ***</code>"), page)
        XCTAssertTrue(page.contains("expected *** to be accepted"), page)
        XCTAssertTrue(page.contains("class=\"tests failing\""), page)
        var everything = page
        for id in (try box.pipeline(["show", "server#1", "--json"]).stdout).matches(of: /"actionExecutionId" : "[0-9a-f-]+:(\d+)"/).map({ String($0.1) }) {
            everything += try request(box, "GET", server.base + "/server/server/1/log/\(id)", headers: auth).body
            everything += try request(box, "GET", server.base + "/server/server/1/log/\(id)/raw", headers: auth).body
        }
        everything += try request(box, "GET", server.base + "/api/server/executions/server%231", headers: auth).body
        everything += try request(box, "GET", server.base + "/api/server/events", headers: auth).body
        XCTAssertTrue(everything.contains("whole ***"), "the build's log is there, masked")
        for part in ["tok-9f8e7d6c5b4a39281706", "tok-9f8e7", "MIIEvQIBADANBgkqhkiG9w0B", "AQEFAASCBKcwggSjAgEAAoIB"] {
            XCTAssertFalse(everything.contains(part), "\(part) reached the console")
        }

        let deploy = try Sandbox()
        let target = deploy.root + "/site"
        var files = ["appspec.yml": DeployTests.appspec, "scripts/hook.sh": DeployTests.hook, "scripts/validate.sh": DeployTests.validate,
                     "app/index.html": DeployTests.page("v1"), "app/bin/run": "#!/bin/sh\necho run\n"]
        files[".pipeline.yml"] = DeployTests.definition(target: target)
        try deploy.commit("v1", files: files)
        try deploy.git(["update-index", "--chmod=+x", "scripts/hook.sh", "scripts/validate.sh", "app/bin/run"])
        try deploy.git(["commit", "-q", "--amend", "--no-edit"])
        try deploy.push()
        try deploy.waitForStatus("server#1", "Succeeded", timeout: 60)
        let deployToken = try deploy.pipeline(["serve", "token", "add", "erin"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let deployServer = try Server(["--git-dir", deploy.server], in: deploy.root)
        defer { deployServer.stop() }
        let ledger = try request(deploy, "GET", deployServer.base + "/server/server/1", headers: ["Authorization": "Bearer \(deployToken)"]).body
        XCTAssertTrue(ledger.contains("<h2>Deployments</h2>"), ledger)
        XCTAssertTrue(ledger.contains("<code>\(target)</code>") && ledger.contains("Deploy/Site"), ledger)
        let diagram = try request(deploy, "GET", deployServer.base + "/server/server", headers: ["Authorization": "Bearer \(deployToken)"]).body
        XCTAssertTrue(diagram.contains("<h2>Deployed</h2>") && diagram.contains(target), diagram)
    }
}
