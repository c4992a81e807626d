import CCrypt
import Foundation
import PipelineEngine
import Synchronization

/// Who may use the console, and how they prove it: tokens made by `git pipeline serve token add`
/// (kept only as their SHA-256), or an htpasswd file (crypt(3) hashes: bcrypt `$2y$`, sha512-crypt
/// `$6$`, sha256-crypt `$5$`). Tokens are 256 random bits, so one SHA-256 is enough to keep them
/// useless to a reader of the file (GitHub keeps its tokens the same way); passwords chosen by
/// people need the slow hashes htpasswd makes.
public struct ConsoleAuth: Sendable {
    public struct TokenEntry: Sendable, Equatable {
        public var user: String
        public var digest: String
        public var created: String
    }

    public let tokensPath: String
    let passwords: [String: String]
    /// The tokens file as last read, with its change time: `token add` and `token remove` take
    /// effect in a running console at the next sign-in, without a restart.
    private let cache: TokenCache

    final class TokenCache: Sendable {
        let state: Mutex<(stamp: Int64, entries: [TokenEntry])>
        init(_ entries: [TokenEntry], stamp: Int64) { state = Mutex((stamp, entries)) }
    }

    /// Reads both files; a line that can't be used is an error naming the file and line.
    public init(tokensPath: String, htpasswdPath: String?) throws {
        self.tokensPath = tokensPath
        cache = TokenCache(try Self.readTokens(tokensPath), stamp: Self.stamp(tokensPath))
        passwords = try htpasswdPath.map(Self.readHtpasswd) ?? [:]
    }

    public var isEmpty: Bool { tokens.isEmpty && passwords.isEmpty }

    var tokens: [TokenEntry] {
        let now = Self.stamp(tokensPath)
        return cache.state.withLock { cached in
            if cached.stamp != now {
                // A file broken since the start keeps the tokens read before: signing in goes on.
                if let entries = try? Self.readTokens(tokensPath) { cached = (now, entries) }
            }
            return cached.entries
        }
    }

    static func stamp(_ path: String) -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else { return 0 }
        return (Int64(info.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(info.st_mtim.tv_nsec)) ^ Int64(truncatingIfNeeded: info.st_ino)
    }

    /// The user a token belongs to.
    public func user(token: String) -> String? {
        let digest = Self.digest(token)
        // Every entry is compared in full: how long this takes says nothing about which one matched.
        var found: String?
        for entry in tokens where Self.equalInConstantTime(entry.digest, digest) { found = entry.user }
        return found
    }

    /// The user, when `secret` is their htpasswd password or one of their tokens.
    public func user(name: String, secret: String) -> String? {
        if let owner = user(token: secret), owner == name { return owner }
        guard let hash = passwords[name] else { return nil }
        return Self.crypt(secret, hash).map { Self.equalInConstantTime($0, hash) } == true ? name : nil
    }

    // MARK: tokens file

    /// `USER sha256:HEX CREATED`, one token per line; `#` comments.
    static func readTokens(_ path: String) throws -> [TokenEntry] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var entries: [TokenEntry] = []
        for (index, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let words = trimmed.split(separator: " ").map(String.init)
            guard words.count >= 2, words[1].hasPrefix("sha256:"), words[1].count == 71, isUserName(words[0]) else {
                throw ConsoleError.badFile("\(path):\(index + 1): not `USER sha256:HEX CREATED`; remove the line and make a new token with `git pipeline serve token add USER`")
            }
            entries.append(TokenEntry(user: words[0], digest: String(words[1].dropFirst(7)), created: words.count > 2 ? words[2] : ""))
        }
        return entries
    }

    /// Makes a token for `user`, keeps its digest in `path` (mode 0600) and returns the token,
    /// which is shown once and kept nowhere else.
    public static func addToken(user: String, path: String, now: Date = Date()) throws -> String {
        guard isUserName(user) else { throw ConsoleError.badInput("`\(user)` is not a user name (letters, digits, . _ - @)") }
        var generator = SystemRandomNumberGenerator()
        let token = "gpt_" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        let line = "\(user) sha256:\(digest(token)) \(ISO8601DateFormatter().string(from: now))\n"
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let existing = FileManager.default.contents(atPath: path) ?? Data()
        try write(existing + Data(line.utf8), to: path)
        return token
    }

    /// Removes every token of `user`; returns how many there were.
    @discardableResult
    public static func removeTokens(user: String, path: String) throws -> Int {
        let entries = try readTokens(path)
        let kept = entries.filter { $0.user != user }
        try write(Data(kept.map { "\($0.user) sha256:\($0.digest) \($0.created)\n" }.joined().utf8), to: path)
        return entries.count - kept.count
    }

    public static func listTokens(path: String) throws -> [TokenEntry] { try readTokens(path) }

    /// Written beside and renamed over, mode 0600 from the start: no reader ever sees half a file
    /// or a moment of wider permissions.
    static func write(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw ConsoleError.badFile("cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw ConsoleError.badFile("cannot replace \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func digest(_ text: String) -> String {
        var hash = SHA256()
        hash.update(Array(text.utf8))
        return hash.finalizeHex()
    }

    static func isUserName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-@".contains($0)) }
    }

    // MARK: htpasswd

    /// `user:hash` lines as `htpasswd -B` (bcrypt) or `openssl passwd -6` make them. A hash this
    /// system's crypt(3) can't check (Apache's `$apr1$`, `{SHA}`) is refused here, with the line,
    /// rather than failing every login later.
    static func readHtpasswd(_ path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConsoleError.badFile("\(path): cannot read the htpasswd file (\(String(cString: strerror(errno))))")
        }
        var users: [String: String] = [:]
        for (index, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let colon = trimmed.firstIndex(of: ":") else {
                throw ConsoleError.badFile("\(path):\(index + 1): not `user:hash`")
            }
            let user = String(trimmed[..<colon]), hash = String(trimmed[trimmed.index(after: colon)...])
            guard isUserName(user) else { throw ConsoleError.badFile("\(path):\(index + 1): `\(user)` is not a user name") }
            guard hash.hasPrefix("$"), crypt("probe", hash) != nil else {
                throw ConsoleError.badFile("\(path):\(index + 1): \(user)'s hash (\(hash.prefix(6))…) is not one crypt(3) checks here; " +
                                           "make it with `htpasswd -B` (bcrypt) or `openssl passwd -6` (sha512-crypt)")
            }
            users[user] = hash
        }
        return users
    }

    /// crypt_r(3) of `password` with the salt and method in `setting`; nil when the method is unknown.
    static func crypt(_ password: String, _ setting: String) -> String? {
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer { data.deallocate() }
        memset(data, 0, MemoryLayout<crypt_data>.size)
        guard let result = crypt_r(password, setting, data) else { return nil }
        let text = String(cString: result)
        // libxcrypt's failure token starts with `*`.
        return text.hasPrefix("*") ? nil : text
    }

    static func equalInConstantTime(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}

/// Browser sessions: a random id in an HttpOnly, SameSite=Strict cookie, and the CSRF token every
/// form of that session carries. Kept in memory: a restart signs everyone out, nothing to leak on disk.
public final class SessionBook: Sendable {
    public struct Session: Sendable {
        public var user: String
        public var csrf: String
        public var expires: Double
    }

    private let sessions = Mutex<[String: Session]>([:])
    let lifetime: Double

    public init(lifetime: Double = 12 * 3600) { self.lifetime = lifetime }

    public func open(user: String, now: Double = Date().timeIntervalSince1970) -> (id: String, session: Session) {
        let id = Self.randomHex(32)
        let session = Session(user: user, csrf: Self.randomHex(24), expires: now + lifetime)
        sessions.withLock { table in
            table = table.filter { $0.value.expires > now }
            table[id] = session
        }
        return (id, session)
    }

    public func session(_ id: String?, now: Double = Date().timeIntervalSince1970) -> Session? {
        guard let id else { return nil }
        return sessions.withLock { table in
            guard let session = table[id], session.expires > now else { table[id] = nil; return nil }
            return session
        }
    }

    public func close(_ id: String?) {
        guard let id else { return }
        sessions.withLock { $0[id] = nil }
    }

    static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}

public enum ConsoleError: Error, CustomStringConvertible {
    case badFile(String)
    case badInput(String)
    public var description: String {
        switch self {
        case .badFile(let message), .badInput(let message): message
        }
    }
}
