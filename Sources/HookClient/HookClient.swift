#if canImport(Glibc)
import Glibc
#endif

/// What `git-pipeline-hook`, the program the post-receive shim runs, does on every push. It links
/// nothing but libc: a running runner (which has libgit2 initialised and the definitions parsed)
/// records the push over `pipeline/hook.sock` and answers with the lines to print. With no runner
/// to answer, it hands the push to `git-pipeline hook post-receive`, which records it itself and
/// starts one. Either way it exits 0 (a push is never blocked).
/// The words spoken over `pipeline/hook.sock`, shared with the runner's hook service: the only
/// thing of this module the engine uses.
public enum HookWire {
    /// The socket's name in the state folder.
    public static let socketName = "hook.sock"
    /// The request's first line: `pusher NAME`; the post-receive input follows.
    public static let pusherPrefix = "pusher "
    /// The line that ends a complete answer; without it the runner did not finish.
    public static let endOfAnswer = "\u{0}end"
}

public enum HookClient {
    /// How long the runner may take to answer before the push is recorded the slow way.
    static let answerTimeoutMilliseconds: Int32 = 10_000

    public static func run() -> Never {
        let input = readAll(0)
        let gitDirectory = absolutePath(environmentValue("GIT_DIR") ?? ".")
        let pusher = environmentValue("GL_USER") ?? environmentValue("USER") ?? environmentValue("LOGNAME") ?? "unknown"
        let request = HookWire.pusherPrefix + pusher + "\n" + input
        if let answer = ask(socketPath: gitDirectory + "/pipeline/" + HookWire.socketName, request: request) {
            if !answer.isEmpty { print(answer, terminator: "") }
            exit(0)
        }
        let full = parentFolder(currentExecutablePath()) + "/git-pipeline"
        var environment = currentEnvironment()
        environment["GIT_DIR"] = gitDirectory
        execWithInput(full, ["hook", "post-receive"], input: input, environment: environment)
        print("git-pipeline: error: cannot run \(full) (keep git-pipeline and git-pipeline-hook side by side); nothing recorded")
        exit(0)
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
