import Foundation
import XCTest
@testable import WebConsole

/// The console's pure parts and its gate: forms, tokens, htpasswd through the system's crypt(3),
/// and who may read and press buttons — through `Console.handle`, with no server in between.
final class ConsoleGateTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "console-gate-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: folder + "/root", withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    func console(publicRead: Bool = false, htpasswd: String? = nil) throws -> Console {
        Console(configuration: ConsoleConfiguration(catalog: RepositoryCatalog(.root(folder + "/root")),
                                                    auth: try ConsoleAuth(tokensPath: folder + "/tokens", htpasswdPath: htpasswd), publicRead: publicRead))
    }

    func request(_ method: String, _ path: String, headers: [String: String] = [:], body: String = "") -> ConsoleRequest {
        let parts = path.split(separator: "?", maxSplits: 1).map(String.init)
        return ConsoleRequest(method: method, path: parts[0], query: parts.count > 1 ? parts[1] : nil, headers: headers, body: Array(body.utf8))
    }

    func testFormsDecodePlusAndPercentAndKeepTheFirstValue() {
        let fields = ConsoleRequest.fields("summary=looks+good%21&stage=Gate&stage=Other&empty=")
        XCTAssertEqual(fields["summary"], "looks good!")
        XCTAssertEqual(fields["stage"], "Gate")
        XCTAssertEqual(fields["empty"], "")
        let json = ConsoleRequest(method: "post", path: "/a/b", query: nil, headers: ["Content-Type": "application/json"], body: Array(#"{"stage": "Gate", "n": 3}"#.utf8))
        XCTAssertEqual(json.form["stage"], "Gate")
        XCTAssertEqual(json.form["n"], "3")
        XCTAssertEqual(ConsoleRequest(method: "GET", path: "/my%20repo/p", query: nil, headers: [:], body: []).segments, ["my repo", "p"])
    }

    func testAStreamNeverSplitsACharacter() {
        let text = Array("ok é€😀".utf8)
        for cut in 0...text.count {
            let kept = Live.completeUTF8(Array(text[..<cut]))
            XCTAssertNotNil(String(validating: kept, as: UTF8.self), "cut at \(cut)")
            XCTAssertGreaterThanOrEqual(kept.count, cut - 3)
        }
        XCTAssertEqual(Live.completeUTF8(Array(text.dropLast()), final: true).count, text.count - 1, "a finished file is sent whole")
    }

    func testTokensAreKeptHashedAndCanBeRemoved() throws {
        let path = folder + "/tokens"
        let token = try ConsoleAuth.addToken(user: "alice", path: path)
        let other = try ConsoleAuth.addToken(user: "bob", path: path)
        let file = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertFalse(file.contains(token))
        XCTAssertTrue(file.contains("alice sha256:"))
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
        XCTAssertEqual(mode, 0o600)
        let auth = try ConsoleAuth(tokensPath: path, htpasswdPath: nil)
        XCTAssertEqual(auth.user(token: token), "alice")
        XCTAssertEqual(auth.user(token: other), "bob")
        XCTAssertNil(auth.user(token: token + "0"))
        XCTAssertEqual(auth.user(name: "alice", secret: token), "alice")
        XCTAssertNil(auth.user(name: "bob", secret: token), "a token signs in only its own user")
        XCTAssertEqual(try ConsoleAuth.removeTokens(user: "alice", path: path), 1)
        XCTAssertNil(auth.user(token: token), "a running console stops taking a removed token")
        XCTAssertThrowsError(try ConsoleAuth.addToken(user: "a b", path: path))
        try "alice md5:abc\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ConsoleAuth(tokensPath: path, htpasswdPath: nil)) { error in
            XCTAssertTrue("\(error)".contains("tokens:1:"), "\(error)")
        }
    }

    func testHtpasswdPasswordsAreCheckedByTheSystemsCrypt() throws {
        let hash = try shell("openssl passwd -6 -salt abcdefgh 's3cret pass'")
        let path = folder + "/htpasswd"
        try "# users\ncarol:\(hash)\n".write(toFile: path, atomically: true, encoding: .utf8)
        let auth = try ConsoleAuth(tokensPath: folder + "/tokens", htpasswdPath: path)
        XCTAssertEqual(auth.user(name: "carol", secret: "s3cret pass"), "carol")
        XCTAssertNil(auth.user(name: "carol", secret: "s3cret pasS"))
        XCTAssertNil(auth.user(name: "dave", secret: "s3cret pass"))
        try "carol:$apr1$abc$defghijklmnop\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ConsoleAuth(tokensPath: folder + "/tokens", htpasswdPath: path)) { error in
            XCTAssertTrue("\(error)".contains("htpasswd:1:") && "\(error)".contains("htpasswd -B"), "\(error)")
        }
    }

    func testTheGateSendsVisitorsToSignInAndRefusesUnprovenPosts() async throws {
        let token = try ConsoleAuth.addToken(user: "alice", path: folder + "/tokens")
        let console = try console()
        let page = await console.handle(request("GET", "/repo/pipe"))
        XCTAssertEqual(page.status, 303)
        XCTAssertEqual(page.headers.first { $0.0 == "Location" }?.1, "/login?next=/repo/pipe")
        do { let answer = await console.handle(request("GET", "/api")); XCTAssertEqual(answer.status, 401) }
        do { let answer = await console.handle(request("GET", "/repo/pipe/badge.svg")); XCTAssertEqual(answer.status, 401) }
        do { let answer = await console.handle(request("POST", "/repo/pipe/1/approve", body: "stage=A&action=B")); XCTAssertEqual(answer.status, 401) }
        do { let answer = await console.handle(request("GET", "/api", headers: ["Authorization": "Bearer nope"])); XCTAssertEqual(answer.status, 401) }
        do { let answer = await console.handle(request("GET", "/api", headers: ["Authorization": "Bearer \(token)"])); XCTAssertEqual(answer.status, 200) }
        // A wrong sign-in says so; a right one opens a session in a strict cookie.
        do { let answer = await console.handle(request("POST", "/login", body: "user=alice&secret=wrong")); XCTAssertEqual(answer.status, 401) }
        let signedIn = await console.handle(request("POST", "/login", body: "user=alice&secret=\(token)&next=/x"))
        XCTAssertEqual(signedIn.status, 303)
        XCTAssertEqual(signedIn.headers.first { $0.0 == "Location" }?.1, "/x")
        let cookie = try XCTUnwrap(signedIn.headers.first { $0.0 == "Set-Cookie" }?.1)
        XCTAssertTrue(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), cookie)
        let session = String(cookie.split(separator: ";")[0])
        let offsite = await console.handle(request("POST", "/login", body: "user=alice&secret=\(token)&next=//evil.example"))
        XCTAssertEqual(offsite.headers.first { $0.0 == "Location" }?.1, "/", "no redirect off the site")
        // With the session: pages open; a POST needs the form's CSRF token and this site's origin.
        do { let answer = await console.handle(request("GET", "/", headers: ["Cookie": session])); XCTAssertEqual(answer.status, 200) }
        do { let answer = await console.handle(request("POST", "/repo/pipe/1/approve", headers: ["Cookie": session], body: "stage=A&action=B")); XCTAssertEqual(answer.status, 403) }
        let csrf = try XCTUnwrap(console.sessions.session(String(session.dropFirst("gp_session=".count)))?.csrf)
        let foreign = await console.handle(request("POST", "/repo/pipe/1/approve", headers: ["Cookie": session, "Origin": "http://evil.example", "Host": "127.0.0.1:8080"],
                                                   body: "_csrf=\(csrf)&stage=A&action=B"))
        XCTAssertEqual(foreign.status, 403)
        // Past the gate, the repository is looked up: none here.
        let passed = await console.handle(request("POST", "/repo/pipe/1/approve", headers: ["Cookie": session, "Origin": "http://127.0.0.1:8080", "Host": "127.0.0.1:8080"],
                                                  body: "_csrf=\(csrf)&stage=A&action=B"))
        XCTAssertEqual(passed.status, 404)
        do { let answer = await console.handle(request("POST", "/logout", headers: ["Cookie": session], body: "_csrf=\(csrf)")); XCTAssertEqual(answer.status, 303) }
        do { let answer = await console.handle(request("GET", "/", headers: ["Cookie": session])); XCTAssertEqual(answer.status, 303, "signed out") }
    }

    func testPublicReadOpensPagesButNotButtons() async throws {
        let console = try console(publicRead: true)
        do { let answer = await console.handle(request("GET", "/")); XCTAssertEqual(answer.status, 200) }
        do { let answer = await console.handle(request("GET", "/api")); XCTAssertEqual(answer.status, 200) }
        do { let answer = await console.handle(request("POST", "/repo/pipe/start")); XCTAssertEqual(answer.status, 401) }
    }

    func testEveryAnswerOfAPageEscapesWhatItShows() {
        XCTAssertEqual(Pages.h(#"<script>"x"&'y'</script>"#), "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;")
        let svg = Badge.svg(label: "<p>", status: "Failed")
        XCTAssertTrue(svg.contains("&lt;p&gt;") && svg.contains(Badge.colour("Failed")))
    }

    func shell(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, command)
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
