import ArgumentParser
import Foundation
import PipelineEngine
import Synchronization
import WebConsole

/// `git pipeline serve`: the web console.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The web console: pipelines, executions, live logs and the buttons, on 127.0.0.1:8080 by default.",
        discussion: """
            Serves one repository (--git-dir, or the one you are in) or every installed bare repository \
            in a folder (--root). Pages need a signed-in user unless --public; the buttons always do. \
            Users sign in with a token (git pipeline serve token add USER) or an htpasswd file (--htpasswd). \
            Scripts send Authorization: Bearer TOKEN to /api/… for the same JSON as --json.
            """,
        subcommands: [ServeRun.self, ServeToken.self],
        defaultSubcommand: ServeRun.self)
}

/// Options serve and its token commands share: which repositories.
struct ServedRepositories: ParsableArguments {
    @OptionGroup var repository: RepositoryOptions
    @Option(help: "A folder of bare repositories: serve every one with git-pipeline installed.") var root: String?

    func source() throws -> RepositoryCatalog.Source {
        if let root {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CommandError.usage("--root \(root) is not a folder")
            }
            return .root(URL(fileURLWithPath: absolute(root)).standardizedFileURL.path)
        }
        return .one(try repository.installedLayout().gitDirectory)
    }
}

struct ServeRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Serve the console (the default: `git pipeline serve` is `serve run`).")

    @OptionGroup var served: ServedRepositories
    @Option(help: "HOST:PORT to listen on (port 0: any free one, printed).") var listen = "127.0.0.1:8080"
    @Option(help: "An htpasswd file (bcrypt from htpasswd -B, or openssl passwd -6) whose users may sign in too.") var htpasswd: String?
    @Flag(help: "Let anyone read the pages, the API's GETs and the badges; the buttons still need a user.") var `public` = false

    func validate() throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port),
              colon != listen.startIndex else {
            throw ValidationError("--listen takes HOST:PORT, e.g. 127.0.0.1:8080, not `\(listen)`")
        }
    }

    func run() throws {
        let source = try served.source()
        let colon = listen.lastIndex(of: ":")!
        let given = String(listen[..<colon]), port = Int(listen[listen.index(after: colon)...])!
        let host = given.hasPrefix("[") && given.hasSuffix("]") ? String(given.dropFirst().dropLast()) : given
        let auth = try attempt("serve") { try ConsoleAuth(tokensPath: ConsoleConfiguration.tokensPath(for: source), htpasswdPath: htpasswd) }
        let catalog = RepositoryCatalog(source)
        let console = Console(configuration: ConsoleConfiguration(catalog: catalog, auth: auth, publicRead: `public`))
        let count = catalog.all().count
        if auth.isEmpty {
            FileHandle.standardOutput.write(Data("no users yet: git pipeline serve token add USER\(served.root.map { " --root \($0)" } ?? "") (or --htpasswd FILE)\n".utf8))
        }
        if !["127.0.0.1", "localhost", "::1"].contains(host) {
            FileHandle.standardError.write(Data("warning: plain HTTP on \(host): tokens and cookies cross the network in clear; put the console behind nginx or HAProxy with TLS\n".utf8))
        }
        let isPublic = `public`
        let failure = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                try await ConsoleServer.run(console, host: host, port: port) { bound in
                    // Written straight to the descriptor: whoever started serve reads the port now, not
                    // when a buffer fills.
                    FileHandle.standardOutput.write(Data(("git-pipeline console on http://\(host.contains(":") ? "[\(host)]" : host):\(bound)/ — " +
                        "\(count) repositor\(count == 1 ? "y" : "ies"), \(isPublic ? "pages public" : "pages for signed-in users")\n").utf8))
                }
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
            done.signal()
        }
        done.wait()
        if let message = failure.withLock({ $0 }) { throw CommandError.failed("serve on \(listen): \(message)") }
    }
}

struct ServeToken: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Tokens for the console's users, kept hashed.",
        subcommands: [ServeTokenAdd.self, ServeTokenRemove.self, ServeTokenList.self])
}

struct ServeTokenAdd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Make a token for USER; it is printed once and kept only as its SHA-256.")
    @OptionGroup var served: ServedRepositories
    @Argument(help: "The user the token signs in as (audit trail, approvals).") var user: String

    func run() throws {
        let path = ConsoleConfiguration.tokensPath(for: try served.source())
        let token = try attempt("serve token add") { try ConsoleAuth.addToken(user: user, path: path) }
        print(token)
        FileHandle.standardError.write(Data("a token for \(user), shown this once (its hash is in \(path)); sign in with it, or send Authorization: Bearer TOKEN\n".utf8))
    }
}

struct ServeTokenRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove every token of USER (a running console stops taking them at once).")
    @OptionGroup var served: ServedRepositories
    @Argument(help: "The user.") var user: String

    func run() throws {
        let path = ConsoleConfiguration.tokensPath(for: try served.source())
        let count = try attempt("serve token remove") { try ConsoleAuth.removeTokens(user: user, path: path) }
        guard count > 0 else { throw CommandError.failed("serve token remove: \(user) has no token in \(path)") }
        print("removed \(count) token\(count == 1 ? "" : "s") of \(user)")
    }
}

struct ServeTokenList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "The users with tokens and when each token was made.")
    @OptionGroup var served: ServedRepositories

    func run() throws {
        let path = ConsoleConfiguration.tokensPath(for: try served.source())
        for entry in try attempt("serve token list", { try ConsoleAuth.listTokens(path: path) }) {
            print("\(entry.user)  \(entry.created)  sha256:\(entry.digest.prefix(12))…")
        }
    }
}
