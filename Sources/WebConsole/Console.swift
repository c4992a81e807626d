import Foundation
import Git
import PipelineEngine

/// A request as the console sees it: no server types, so routing and the auth gate are plain
/// values a unit test can build.
public struct ConsoleRequest: Sendable {
    public var method: String
    /// The path's segments, percent-decoded.
    public var segments: [String]
    public var query: [String: String]
    /// Header names in lower case.
    public var headers: [String: String]
    /// A form's fields (application/x-www-form-urlencoded), or a JSON object's string members.
    public var form: [String: String]

    public init(method: String, path: String, query: String?, headers: [String: String], body: [UInt8]) {
        self.method = method.uppercased()
        segments = path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        self.query = Self.fields(query ?? "")
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
        let contentType = self.headers["content-type"] ?? ""
        if contentType.hasPrefix("application/json"),
           let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
            form = object.compactMapValues { value in
                if let text = value as? String { return text }
                if let number = value as? NSNumber { return number.stringValue }
                return nil
            }
        } else {
            form = Self.fields(String(decoding: body, as: UTF8.self))
        }
    }

    /// `a=1&b=two+words` decoded; a name given twice keeps its first value, except `variable`
    /// lines, which join with newlines.
    static func fields(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { (String(s).replacingOccurrences(of: "+", with: " ")).removingPercentEncoding ?? String(s) }
            let name = decode(parts[0]), value = parts.count > 1 ? decode(parts[1]) : ""
            if out[name] == nil { out[name] = value }
        }
        return out
    }

    public var cookies: [String: String] {
        var out: [String: String] = [:]
        for part in (headers["cookie"] ?? "").split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.count == 2 { out[pair[0].trimmingCharacters(in: .whitespaces)] = String(pair[1]) }
        }
        return out
    }

    /// Asked for JSON: the `/api/` paths.
    var isAPI: Bool { segments.first == "api" }
}

/// A response: bytes, or a stream the server writes as it goes (server-sent events, downloads).
public struct ConsoleResponse: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        case stream(@Sendable (inout any ConsoleBodyWriter) async throws -> Void)
    }

    public var status: Int
    public var headers: [(String, String)]
    public var body: Body

    public init(status: Int, headers: [(String, String)] = [], body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    static func html(_ text: String, status: Int = 200, headers: [(String, String)] = []) -> ConsoleResponse {
        ConsoleResponse(status: status, headers: [("Content-Type", "text/html; charset=utf-8")] + headers, body: .bytes(Array(text.utf8)))
    }

    static func json(_ text: String, status: Int = 200) -> ConsoleResponse {
        ConsoleResponse(status: status, headers: [("Content-Type", "application/json")], body: .bytes(Array((text.hasSuffix("\n") ? text : text + "\n").utf8)))
    }

    static func text(_ text: String, status: Int = 200, type: String = "text/plain; charset=utf-8") -> ConsoleResponse {
        ConsoleResponse(status: status, headers: [("Content-Type", type)], body: .bytes(Array(text.utf8)))
    }

    static func redirect(_ location: String, headers: [(String, String)] = []) -> ConsoleResponse {
        ConsoleResponse(status: 303, headers: [("Location", location)] + headers)
    }

    /// The body as text (tests, and nothing else, read a streamed body this way).
    public var bytes: [UInt8]? {
        if case .bytes(let bytes) = body { return bytes }
        return nil
    }
}

/// Where a streamed body goes, a chunk at a time; a write fails once the client has gone.
public protocol ConsoleBodyWriter {
    mutating func write(_ bytes: [UInt8]) async throws
}

extension ConsoleBodyWriter {
    mutating func send(_ text: String) async throws { try await write(Array(text.utf8)) }
}

/// Which repositories the console serves: one, or every installed bare repository in a folder.
public struct RepositoryCatalog: Sendable {
    public enum Source: Sendable {
        case one(String)
        case root(String)
    }

    public let source: Source

    public init(_ source: Source) { self.source = source }

    /// Names that would be taken for the console's own paths.
    static let reserved: Set<String> = ["api", "static", "login", "logout", "favicon.ico"]

    /// Each served repository by its name (the folder's, without `.git`), sorted. A folder added
    /// under the root shows up at the next request.
    public func all() -> [(name: String, layout: StateLayout)] {
        switch source {
        case .one(let gitDirectory):
            let layout = StateLayout(gitDirectory: gitDirectory)
            return [(layout.repositoryName, layout)]
        case .root(let root):
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
            return names.sorted().compactMap { entry in
                let listed = StateLayout(gitDirectory: root + "/" + entry)
                guard !entry.hasPrefix("."), listed.isInstalled, !Self.reserved.contains(listed.repositoryName) else { return nil }
                // A link into the folder names the repository here; the operations get its real
                // path, from which hooks and the CLI know it (a pipeline named after its repository).
                let real = URL(fileURLWithPath: listed.gitDirectory).resolvingSymlinksInPath().path
                return (listed.repositoryName, StateLayout(gitDirectory: real))
            }
        }
    }

    public func find(_ name: String) -> StateLayout? { all().first { $0.name == name }?.layout }
}

/// The console's settings, as `serve` gives them.
public struct ConsoleConfiguration: Sendable {
    public var catalog: RepositoryCatalog
    public var auth: ConsoleAuth
    /// Read-only pages, the API's GETs and badges without signing in.
    public var publicRead: Bool

    public init(catalog: RepositoryCatalog, auth: ConsoleAuth, publicRead: Bool) {
        self.catalog = catalog
        self.auth = auth
        self.publicRead = publicRead
    }

    /// Where tokens are kept: in the repository's state folder, or in the root's `.git-pipeline/`.
    public static func tokensPath(for source: RepositoryCatalog.Source) -> String {
        switch source {
        case .one(let gitDirectory): StateLayout(gitDirectory: gitDirectory).root + "/console-tokens"
        case .root(let root): root + "/.git-pipeline/console-tokens"
        }
    }
}

/// The web console: every request goes through `handle`, which finds who asks, what they ask
/// for, whether they may, and answers with a page, JSON, a stream or a redirect.
public struct Console: Sendable {
    public let configuration: ConsoleConfiguration
    public let sessions: SessionBook

    public init(configuration: ConsoleConfiguration, sessions: SessionBook = SessionBook()) {
        self.configuration = configuration
        self.sessions = sessions
    }

    static let sessionCookie = "gp_session"

    /// The signed-in user of a request: a session cookie, or an Authorization header (a token as
    /// `Bearer`, or `Basic` with an htpasswd password or a token).
    func identify(_ request: ConsoleRequest) -> (user: String, session: SessionBook.Session?, viaHeader: Bool)? {
        if let header = request.headers["authorization"] {
            if header.hasPrefix("Bearer "), let user = configuration.auth.user(token: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)) {
                return (user, nil, true)
            }
            if header.hasPrefix("Basic "), let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)) {
                let pair = String(decoding: data, as: UTF8.self).split(separator: ":", maxSplits: 1).map(String.init)
                if pair.count == 2, let user = configuration.auth.user(name: pair[0], secret: pair[1]) { return (user, nil, true) }
            }
            return nil
        }
        if let session = sessions.session(request.cookies[Self.sessionCookie]) { return (session.user, session, false) }
        return nil
    }

    public func handle(_ request: ConsoleRequest) async -> ConsoleResponse {
        let who = identify(request)
        let segments = request.segments
        // Assets and the sign-in page are for everyone.
        if segments.first == "static", segments.count == 2 { return Assets.response(segments[1]) }
        if segments == ["favicon.ico"] { return ConsoleResponse(status: 204) }
        if segments == ["login"] {
            return request.method == "POST" ? login(request) : .html(Pages.login(message: nil, next: request.query["next"]))
        }
        if segments == ["logout"], request.method == "POST" {
            guard let who, let session = who.session, request.form["_csrf"] == session.csrf else { return refuse(request, 403, "sign out from the console's own form") }
            sessions.close(request.cookies[Self.sessionCookie])
            return .redirect("/login", headers: [("Set-Cookie", "\(Self.sessionCookie)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")])
        }
        if request.headers["authorization"] != nil && who == nil { return refuse(request, 401, "the token or password in the Authorization header is not valid") }
        if request.method == "GET" || request.method == "HEAD" {
            guard who != nil || configuration.publicRead else {
                if request.isAPI || segments.last == "badge.svg" || segments.last == "stream" {
                    return refuse(request, 401, "sign in: send Authorization: Bearer TOKEN (git pipeline serve token add USER)")
                }
                return .redirect("/login?next=" + (("/" + segments.joined(separator: "/")).addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-._~"))) ?? "/"))
            }
            return await read(request, viewer: Viewer(user: who?.user, csrf: who?.session?.csrf))
        }
        guard request.method == "POST" else { return refuse(request, 405, "\(request.method) is not used here") }
        guard let who else { return refuse(request, 401, "sign in first: a POST needs a session (from /login) or Authorization: Bearer TOKEN") }
        // A browser's form must carry its session's CSRF token and come from this site; a header
        // credential is never sent by a browser on its own, so it needs neither.
        if !who.viaHeader {
            guard let session = who.session, let given = request.form["_csrf"], ConsoleAuth.equalInConstantTime(given, session.csrf) else {
                return refuse(request, 403, "the form's CSRF token is missing or stale: reload the page and try again")
            }
            if let origin = request.headers["origin"], let host = request.headers["host"], origin != "null",
               URL(string: origin)?.host.map({ host == $0 || host.hasPrefix($0 + ":") }) != true {
                return refuse(request, 403, "a form from \(origin) may not act here")
            }
        }
        return control(request, user: who.user)
    }

    func login(_ request: ConsoleRequest) -> ConsoleResponse {
        let name = request.form["user"] ?? "", secret = request.form["secret"] ?? ""
        guard let user = configuration.auth.user(name: name, secret: secret) else {
            return .html(Pages.login(message: "That user and token (or password) do not match.", next: request.form["next"]), status: 401)
        }
        let (id, _) = sessions.open(user: user)
        let next = request.form["next"].flatMap { $0.hasPrefix("/") && !$0.hasPrefix("//") ? $0 : nil } ?? "/"
        return .redirect(next, headers: [("Set-Cookie", "\(Self.sessionCookie)=\(id); Path=/; HttpOnly; SameSite=Strict")])
    }

    func refuse(_ request: ConsoleRequest, _ status: Int, _ message: String) -> ConsoleResponse {
        if request.isAPI || request.headers["accept"]?.contains("application/json") == true || request.headers["authorization"] != nil {
            return .json(jsonText(["message": message], pretty: false), status: status)
        }
        return .html(Pages.problem(status: status, message: message), status: status)
    }

    // MARK: reading

    func read(_ request: ConsoleRequest, viewer: Viewer) async -> ConsoleResponse {
        var segments = request.segments
        let api = request.isAPI
        if api { segments.removeFirst() }
        if segments == ["changes"] { return Live.changes(configuration.catalog) }
        if segments.isEmpty { return api ? .json(API.repositories(configuration.catalog)) : .html(Pages.index(configuration.catalog, viewer: viewer)) }
        guard let layout = configuration.catalog.find(segments[0]) else { return refuse(request, 404, "no repository \(segments[0]) here") }
        let repository = ServedRepository(name: segments[0], layout: layout)
        do {
            if api { return try API.read(repository, Array(segments.dropFirst()), query: request.query) }
            var query = request.query
            if let resumed = request.headers["last-event-id"], UInt64(resumed) != nil { query["offset"] = resumed }
            return try await Pages.read(repository, Array(segments.dropFirst()), query: query, viewer: viewer)
        } catch let error as ConsoleNotFound {
            return refuse(request, 404, error.message)
        } catch {
            return refuse(request, 404, "\(error)")
        }
    }

    // MARK: acting

    func control(_ request: ConsoleRequest, user: String) -> ConsoleResponse {
        var segments = request.segments
        let api = request.isAPI
        if api { segments.removeFirst() }
        guard let name = segments.first, let layout = configuration.catalog.find(name) else {
            return refuse(request, 404, "no repository \(request.segments.first ?? "") here")
        }
        let repository = ServedRepository(name: name, layout: layout)
        guard repository.mayControl(user) else {
            return refuse(request, 403, "\(user) may not act on \(name) (its pipeline.webUsers does not list \(user))")
        }
        let actor = Actor(name: user, system: Identity.systemUser())
        do {
            let outcome = try Controls.perform(repository, Array(segments.dropFirst()), form: request.form, actor: actor)
            if api { return .json(jsonText(["message": outcome.message], pretty: false)) }
            return .redirect(outcome.location + "?said=" + (outcome.message.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
        } catch let error as ConsoleNotFound {
            return refuse(request, 404, error.message)
        } catch {
            let message = "\(error)"
            if api { return .json(jsonText(["message": message], pretty: false), status: 409) }
            return .html(Pages.problem(status: 409, message: message), status: 409)
        }
    }
}

/// Who looks at a page: the signed-in user (nil on a public page) and their form token.
struct Viewer: Sendable {
    var user: String?
    var csrf: String?
}

struct ConsoleNotFound: Error {
    var message: String
}

/// A repository the console serves, by its name in URLs.
struct ServedRepository: Sendable {
    let name: String
    let layout: StateLayout

    func store() throws -> Store { try Store(path: layout.database) }
    func reports() throws -> Reports { Reports(layout: layout, store: try store()) }
    func settings() -> PipelineSettings { (try? Repository(path: layout.gitDirectory)).flatMap { try? PipelineSettings(repository: $0) } ?? PipelineSettings() }

    /// `pipeline.webUsers` (names or @groups), when set, lists who may press the buttons.
    func mayControl(_ user: String) -> Bool {
        let listed = ((try? Repository(path: layout.gitDirectory).configSnapshot().entries(matching: "^pipeline\\.webusers$")) ?? [])
            .flatMap { $0.value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        return listed.isEmpty || Identity.isListed(Actor(name: user, system: user), in: listed)
    }

    /// The store's change stamp: the change signal file's modification time, which every write
    /// touches (Store/ChangeSignal.swift).
    func changeStamp() -> Int64 {
        var info = stat()
        guard stat(ChangeSignal(databasePath: layout.database).path, &info) == 0 else { return 0 }
        return Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }

    func path(_ parts: String...) -> String {
        "/" + ([name] + parts).map { $0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? $0 }.joined(separator: "/")
    }
}
