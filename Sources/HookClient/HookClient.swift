#if canImport(Glibc)
import Glibc
#endif

/// The words shared with the engine — the socket, the push journal's format, the protected refs:
/// the only thing of this module the engine uses.
public enum HookWire {
    /// The socket's name in the state folder.
    public static let socketName = "hook.sock"
    /// The push journal's name in the state folder.
    public static let journalName = "push-journal"
    /// The store's change signal in the state folder (the engine's ChangeSignal touches the same).
    public static let changeSignalName = "changes"
    /// The request's first line: `push ID`; the post-receive input follows.
    public static let pushPrefix = "push "
    /// The line that ends a complete answer; without it the runner did not finish.
    public static let endOfAnswer = "\u{0}end"
    /// The hosting layer's variables naming the pusher, believed only for `pipeline.hostingUser`
    /// (the engine's World/Identity.swift says why).
    public static let hostingVariables = ["GL_USER", "GITOLITE_USER", "REMOTE_USER", "GIT_PIPELINE_USER"]
    /// Journal line kinds: an intent (pre-receive, before the refs move) and a done update (post-receive).
    public static let intentKind = "I", doneKind = "D"

    /// One ref update of hook input.
    public struct RefLine: Sendable, Equatable {
        public let old: String
        public let new: String
        public let ref: String
    }

    /// The `<old> <new> <ref>` lines of hook input that are well formed.
    public static func refUpdates(_ input: String) -> [RefLine] {
        input.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count == 3, parts[0].count == 40 || parts[0].count == 64, parts[1].count == parts[0].count else { return nil }
            return RefLine(old: String(parts[0]), new: String(parts[1]), ref: String(parts[2].filter { $0 != "\r" }))
        }
    }

    /// `KIND ID OLD NEW REF PUSHER\n`: refs hold no spaces (git forbids them); the pusher is the rest
    /// of the line, with any line break in it made a space.
    public static func journalLine(kind: String, id: String, update: RefLine, pusher: String) -> String {
        var name = ""
        for character in pusher { name.append(character == "\n" || character == "\r" ? " " : character) }
        return "\(kind) \(id) \(update.old) \(update.new) \(update.ref) \(name)\n"
    }

    /// The file mode of a `core.sharedRepository` value, as git reads it (setup.c): nil when the
    /// repository is not shared. The hook and the engine's SharedRepository both read it here.
    public static func sharedFileMode(_ value: String?) -> mode_t? {
        guard let value = value?.lowercased(), !value.isEmpty else { return nil }
        switch value {
        case "umask", "false", "no", "off", "0": return nil
        case "group", "true", "yes", "on", "1": return 0o660
        case "all", "world", "everybody", "2": return 0o664
        default:
            guard let octal = mode_t(value, radix: 8), octal & 0o600 == 0o600, octal <= 0o777 else { return nil }
            return octal
        }
    }

    /// The notes refs only the runner writes: `refs/notes/ci`, its records, and whatever
    /// `pipeline.notesRef` names (with its records).
    public static func isProtected(_ ref: String, notesRef: String?) -> Bool {
        var protected = ["refs/notes/ci", "refs/notes/ci-records"]
        if let notesRef, !notesRef.isEmpty {
            let full = notesRef.hasPrefix("refs/") ? notesRef : "refs/notes/" + notesRef
            protected += [full, full + "-records"]
        }
        return protected.contains(ref)
    }
}

/// What `git-pipeline-hook`, the program the hook shims run, does on every push. It links nothing
/// but libc. Every ref update is first appended to the repository's push journal
/// (`pipeline/push-journal`, one write per hook): by pre-receive as an intent, before git moves
/// the refs, and by post-receive as done. The runner ingests the journal idempotently (an entry's
/// id is the receive-pack process's), so a hook killed at any instant loses nothing and a push
/// recorded by two processes is recorded once. Then post-receive asks a running runner, over
/// `pipeline/hook.sock`, for the lines to print; with no runner to answer, it hands over to
/// `git-pipeline hook post-receive`, which ingests itself and starts one. A push is never blocked
/// by us, except by pre-receive's refusal to let a client write the notes refs.
public enum HookClient {
    /// How long the runner may take to answer before the push is recorded the slow way.
    static let answerTimeoutMilliseconds: Int32 = 10_000

    public static func run() -> Never {
        let arguments = CommandLine.arguments
        let hook = arguments.count > 1 ? arguments[1] : "post-receive"
        // The shim passes $PPID, git-receive-pack's pid: the same for both hooks of one push.
        let receivePack = arguments.count > 2 ? Int32(arguments[2]) : nil
        let input = readAll(0)
        let gitDirectory = absolutePath(environmentValue("GIT_DIR") ?? ".")
        let updates = HookWire.refUpdates(input)
        // Read once: the few keys the hook needs all come from it.
        let config = readFile(gitDirectory + "/config")
        if hook == "pre-receive" {
            let notesRef = configValue(config, "notesref", section: "pipeline")
            let refused = updates.filter { HookWire.isProtected($0.ref, notesRef: notesRef) }
            if !refused.isEmpty {
                for update in refused {
                    print("git-pipeline: \(update.ref) holds the CI results and only the runner on the server writes it; " +
                          "push without it (read it with `git fetch origin 'refs/notes/*:refs/notes/*'`)")
                }
                exit(1)
            }
        }
        // A shared repository: what we create (the journal, if install did not) keeps the group's access.
        if let mask = sharedUmask(configValue(config, "sharedrepository", section: "core")) { umask(mask) }
        let id = pushIdentifier(receivePack)
        if access(gitDirectory + "/pipeline", F_OK) == 0 && !updates.isEmpty {
            let kind = hook == "pre-receive" ? HookWire.intentKind : HookWire.doneKind
            let who = pusher(hostingUser: configValue(config, "hostinguser", section: "pipeline"))
            if !appendJournal(gitDirectory, updates.map { HookWire.journalLine(kind: kind, id: id, update: $0, pusher: who) }.joined()) {
                print("git-pipeline: error: cannot append to \(gitDirectory)/pipeline/\(HookWire.journalName): \(String(cString: strerror(errno))) — " +
                      "this push is not recorded; run `git pipeline doctor` on the server")
            }
        }
        guard hook == "post-receive" else { exit(0) }
        if let answer = ask(socketPath: gitDirectory + "/pipeline/" + HookWire.socketName, request: HookWire.pushPrefix + id + "\n" + input) {
            if !answer.isEmpty { print(answer, terminator: "") }
            exit(0)
        }
        let full = parentFolder(currentExecutablePath()) + "/git-pipeline"
        var environment = currentEnvironment()
        environment["GIT_DIR"] = gitDirectory
        execWithInput(full, ["hook", "post-receive", id], input: input, environment: environment)
        print("git-pipeline: error: cannot run \(full) (keep git-pipeline and git-pipeline-hook side by side); nothing recorded")
        exit(0)
    }

    /// A whole file, or nil when it cannot be opened.
    static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readAll(fd)
    }

    /// `<pid>-<start time>` of git-receive-pack: unique on this machine, and what both hooks of a
    /// push compute alike. Without it (an old shim), a random id: the push is then journaled once.
    static func pushIdentifier(_ receivePack: Int32?) -> String {
        if let pid = receivePack, pid > 1, let start = processStartTime(pid) { return "\(pid)-\(start)" }
        var bytes = [UInt8](repeating: 0, count: 8)
        let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        if fd >= 0 { _ = read(fd, &bytes, bytes.count); close(fd) }
        return "r" + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
    static func processStartTime(_ pid: Int32) -> String? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let text = readAll(fd)
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? String(fields[19]) : nil
    }

    /// One write of every line, appended: the kernel never interleaves or cuts it, and a SIGKILL
    /// comes before or after it, not inside. The journal is opened for each push (no lock needed).
    static func appendJournal(_ gitDirectory: String, _ text: String) -> Bool {
        let path = gitDirectory + "/pipeline/" + HookWire.journalName
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o660)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { return false }
        // Wakes a runner that waits for the store to change (it ingests the journal then).
        let signal = open(gitDirectory + "/pipeline/" + HookWire.changeSignalName, O_WRONLY | O_CREAT | O_CLOEXEC, 0o660)
        if signal >= 0 { _ = futimens(signal, nil); close(signal) }
        return true
    }

    /// Who pushed: the OS user the hook runs as, refined by the hosting layer's name for the pusher
    /// when the hook runs as the hosting account; never $USER, which anyone sets.
    static func pusher(hostingUser: String?) -> String {
        let system = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(geteuid())"
        guard let hostingUser, hostingUser == system else { return system }
        for name in HookWire.hostingVariables {
            if let value = environmentValue(name), !value.isEmpty, value != system { return "\(value) (as \(system))" }
        }
        return system
    }

    /// The umask for a `core.sharedRepository` value.
    static func sharedUmask(_ value: String?) -> mode_t? {
        HookWire.sharedFileMode(value).map { 0o777 & ~($0 | (($0 & 0o444) >> 2)) }
    }

    /// A `SECTION.KEY` (lowercase) from the repository's own config file, read without git: the
    /// few keys the hook needs live there (install and `git config` in the repository write them).
    static func configValue(_ config: String?, _ wanted: String, section wantedSection: String) -> String? {
        guard let config else { return nil }
        var section = "", found: String?
        for raw in config.split(separator: "\n") {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.hasPrefix("[") {
                section = String(line.dropFirst().prefix { $0 != "]" && $0 != " " && $0 != "\"" }).lowercased()
                continue
            }
            guard section == wantedSection, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].filter { $0 != " " && $0 != "\t" }.lowercased()
            guard key == wanted else { continue }
            let value = line[line.index(after: equals)...].drop { $0 == " " || $0 == "\t" }
            // The last one wins, as in git.
            found = String(value.prefix { $0 != " " && $0 != "\t" && $0 != "#" && $0 != ";" }.filter { $0 != "\"" })
        }
        return found
    }

    /// The runner's answer, or nil when no runner answered completely.
    static func ask(socketPath: String, request: String) -> String? {
        guard var address = unixSocketAddress(socketPath) else { return nil }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { return nil }
        guard sendAll(fd, Array(request.utf8)) else { return nil }
        shutdown(fd, Int32(SHUT_WR))
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, answerTimeoutMilliseconds)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return nil }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            answer += buffer[0..<n]
        }
        let text = String(decoding: answer, as: UTF8.self)
        guard text.hasSuffix(HookWire.endOfAnswer + "\n") else { return nil }
        return String(text.dropLast(HookWire.endOfAnswer.count + 1))
    }

    static func environmentValue(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    /// The process environment as a dictionary.
    static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") { result[String(text[..<equals])] = String(text[text.index(after: equals)...]) }
            pointer += 1
        }
        return result
    }

    static func readAll(_ fd: Int32) -> String {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n > 0 { data += buffer[0..<n] } else if n < 0 && errno == EINTR { continue } else { break }
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func absolutePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let cwd = String(cString: buffer)
        return path == "." ? cwd : cwd + "/" + path
    }

    /// The absolute path of the running executable.
    static func currentExecutablePath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The folder part of a path.
    static func parentFolder(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// The address of a Unix socket at `path`; nil when the path is too long for one.
func unixSocketAddress(_ path: String) -> sockaddr_un? {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in bytes.enumerated() { raw[index] = byte }
        raw[bytes.count] = 0
    }
    return address
}

/// Writes all of `bytes` to a socket; false when the peer went away.
func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var sent = 0
    while sent < bytes.count {
        let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
        if n < 0 { if errno == EINTR { continue }; return false }
        sent += n
    }
    return true
}

/// Replaces this process with `executable`, its stdin holding `input` (through an unlinked temp
/// file, so any size fits). Returns only if the exec failed.
func execWithInput(_ executable: String, _ arguments: [String], input: String, environment: [String: String]) {
    var template = Array("/tmp/git-pipeline-input.XXXXXX".utf8CString)
    let fd = mkstemp(&template)
    guard fd >= 0 else { return }
    unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    let bytes = Array(input.utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    lseek(fd, 0, SEEK_SET)
    dup2(fd, 0)
    close(fd)
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    execve(executable, argv, envp)
}
