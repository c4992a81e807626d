import Git
#if canImport(Glibc)
import Glibc
#endif

/// The post-receive hook's whole run, for `git-pipeline-hook`. Exits 0 whatever happens (a push is
/// never blocked) and says what it did in `remote:` lines.
public enum HookMain {
    /// Set when the full binary has parsed the pushed definitions into the cache.
    public static let parsedMarker = "GIT_PIPELINE_DEFINITIONS_PARSED"

    public static func run() -> Never {
        // libgit2's global initialisation (it loads the TLS certificates) takes milliseconds: let it
        // run on another core while this thread reads the input and opens the store.
        var thread = pthread_t()
        pthread_create(&thread, nil, { _ in Repository.initializeLibrary(); return nil }, nil)

        let input = readAll(0)
        var lines: [String] = []
        var environment = Spawn.cleanEnvironment()
        let fullBinary = parentFolder(currentExecutablePath()) + "/git-pipeline"
        do {
            let gitDirectory = absolutePath(environmentValue("GIT_DIR") ?? ".")
            environment["GIT_DIR"] = gitDirectory
            let databasePath = gitDirectory + "/pipeline/state.sqlite"
            guard access(databasePath, F_OK) == 0 else {
                pthread_join(thread, nil)  // never exit while libgit2 initialises on the other thread
                print("git-pipeline: not installed in this repository (run `git pipeline install`); nothing recorded")
                exit(0)
            }
            let database: SQLiteConnection
            do { database = try SQLiteConnection(path: databasePath) } catch {
                pthread_join(thread, nil)
                throw error
            }
            let parsed = RefUpdate.parse(input)
            lines += parsed.errors
            pthread_join(thread, nil)
            let repository = try Repository(path: gitDirectory)
            var notesRef = try repository.configString("pipeline.notesRef") ?? "refs/notes/ci"
            if !notesRef.hasPrefix("refs/") { notesRef = "refs/notes/" + notesRef }
            let pusher = environmentValue("GL_USER") ?? environmentValue("USER") ?? environmentValue("LOGNAME") ?? "unknown"
            switch try PushRecorder(repository: repository, database: database, notesRef: notesRef).record(parsed.updates, pusher: pusher) {
            case .needsParsing:
                if getenv(parsedMarker) != nil {
                    lines.append("error: the definitions were parsed but are not in the cache; run `git pipeline doctor`")
                } else {
                    // A definition this repository has not seen: the full binary parses it, then runs us again.
                    execWithInput(fullBinary, ["hook", "post-receive"], input: input, environment: environment)
                    lines.append("error: cannot run \(fullBinary) to read the new definitions")
                }
            case .recorded(let recorded, let executions):
                lines += recorded
                if executions > 0 { try RunnerLock.startRunner(gitDirectory: gitDirectory, executable: fullBinary) }
            }
        } catch {
            lines.append("error: \(error) — the push went through; run `git pipeline doctor` on the server")
        }
        if !lines.isEmpty { print(lines.map { "git-pipeline: " + $0 }.joined(separator: "\n")) }
        exit(0)
    }

    static func environmentValue(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

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
}

/// Replaces this process with `executable`, its stdin holding `input` (through an unlinked temp
/// file, so any size fits). Returns only if the exec failed.
public func execWithInput(_ executable: String, _ arguments: [String], input: String, environment: [String: String]) {
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
