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
    /// The store's change signal in the state folder, which every writer touches (the engine's
    /// ChangeSignal): what followers (`watch`, `logs --follow`) wake on.
    public static let changeSignalName = "changes"
    /// The runner's wake signal: touched by every writer but the runner itself (commands, the hook),
    /// so that the runner wakes for what others asked, not for each of its own writes.
    public static let runnerWakeName = "wake"
    /// The hooks `install` links to `git-pipeline-hook`.
    public static let hooks = ["pre-receive", "post-receive"]
    /// The request's first line: `push ID`; the post-receive input follows.
    public static let pushPrefix = "push "
    /// The line that ends a complete answer; without it the runner did not finish.
    public static let endOfAnswer = "\u{0}end"
    /// The hosting layer's variables naming the pusher, believed only for `pipeline.hostingUser`
    /// (the engine's World/Identity.swift says why).
    public static let hostingVariables = ["GL_USER", "GITOLITE_USER", "REMOTE_USER", "GIT_PIPELINE_USER"]
    /// Journal line kinds: an intent (pre-receive, before the refs move), a done update
    /// (post-receive), and a push option of the push (`git push -o`).
    public static let intentKind = "I", doneKind = "D", optionKind = "O"

    /// The push options git-pipeline reads; any other `ci.` option refuses the push.
    public static let pushOptionHelp = "ci.skip, ci.wait, ci.variable=NAME=VALUE, ci.pipeline=NAME"

    /// Why a push's options are refused (nil: they are fine). Options that do not start with
    /// `ci.` belong to someone else and are left alone.
    public static func pushOptionProblem(_ options: [String]) -> String? {
        for option in options where option.hasPrefix("ci.") {
            if option == "ci.skip" || option == "ci.wait" { continue }
            if option.hasPrefix("ci.variable=") {
                let assignment = option.dropFirst("ci.variable=".count)
                guard let equals = assignment.firstIndex(of: "="), !assignment[..<equals].isEmpty,
                      assignment[..<equals].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "@-_".contains($0)) }) else {
                    return "push option `\(option)` is not ci.variable=NAME=VALUE (NAME: letters, digits, @ - _)"
                }
                continue
            }
            if option.hasPrefix("ci.pipeline="), option.count > "ci.pipeline=".count { continue }
            return "unknown push option `\(option)` (git-pipeline reads \(pushOptionHelp))"
        }
        return nil
    }

    /// `O ID POSITION OPTION\n`: a push option, its line breaks made spaces.
    public static func optionLine(id: String, position: Int, option: String) -> String {
        optionKind + " " + id + " " + String(position) + " " + String(decoding: option.utf8.map { $0 == 10 || $0 == 13 ? 32 : $0 }, as: UTF8.self) + "\n"
    }

    /// One ref update of hook input.
    public struct RefLine: Sendable, Equatable {
        public let old: String
        public let new: String
        public let ref: String

        /// What pipelines run for (see `HookWire.triggers`).
        public var triggers: Bool { HookWire.triggers(ref: ref, deleted: new.allSatisfy { $0 == "0" }) }
    }

    /// The one rule of which ref updates start pipelines, for the hook and the engine alike: a
    /// branch or a tag that now points somewhere (not a deletion, not another ref).
    public static func triggers(ref: String, deleted: Bool) -> Bool {
        !deleted && (ref.hasPrefix("refs/heads/") || ref.hasPrefix("refs/tags/"))
    }

    /// The `<old> <new> <ref>` lines of hook input that are well formed. Read as bytes (the hook
    /// is on every push's path: no grapheme breaking, no Unicode tables paged in).
    public static func refUpdates(_ input: [UInt8]) -> [RefLine] {
        var result: [RefLine] = []
        for line in ASCIIText.lines(input) {
            let fields = ASCIIText.fields(line, maxFields: 3)
            guard fields.count == 3, fields[0].count == 40 || fields[0].count == 64, fields[1].count == fields[0].count else { continue }
            result.append(RefLine(old: ASCIIText.string(fields[0]), new: ASCIIText.string(fields[1]),
                                  ref: ASCIIText.string(fields[2].filter { $0 != 13 })))
        }
        return result
    }

    /// `KIND ID OLD NEW REF PUSHER\n`: refs hold no spaces (git forbids them); the pusher is the rest
    /// of the line, with any line break in it made a space.
    public static func journalLine(kind: String, id: String, update: RefLine, pusher: String) -> String {
        let name = String(decoding: pusher.utf8.map { $0 == 10 || $0 == 13 ? 32 : $0 }, as: UTF8.self)
        return kind + " " + id + " " + update.old + " " + update.new + " " + update.ref + " " + name + "\n"
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

/// What `git-pipeline-hook` does on every push. It links nothing but libc and is a static
/// executable, so it starts as fast as /bin/true; `install` links the hooks to it (a shell shim
/// only where an earlier hook is chained). Every ref update is first appended to the repository's
/// push journal (`pipeline/push-journal`, one write per hook): by pre-receive as an intent, before
/// git moves the refs, and by post-receive as done. The runner ingests the journal idempotently (an
/// entry's id is the receive-pack process's), so a hook killed at any instant loses nothing and a
/// push recorded by two processes is recorded once. Then post-receive asks a running runner, over
/// `pipeline/hook.sock`, for the lines to print (`#12 queued for main@…`). With no runner to answer,
/// it starts one in the background (a new session, its output in `runner.log`) and says the push is
/// recorded: the runner parses the definitions, records the executions and writes any definition
/// error into the commit's note. A push is never blocked by us, except by pre-receive's refusal to
/// let a client write the notes refs.
public enum HookClient {
    /// How long a running runner may take to answer before the hook says "recorded" and leaves it
    /// to the runner's next look at the journal.
    static let answerTimeoutMilliseconds: Int32 = 3_000

    public static func run() -> Never {
        // argv read as it comes (CommandLine.arguments would build every String of it first).
        func argument(_ index: Int) -> String? {
            index < Int(CommandLine.argc) ? CommandLine.unsafeArgv[index].map { String(cString: $0) } : nil
        }
        // Linked as hooks/pre-receive or hooks/post-receive, git runs us directly: our parent is
        // git-receive-pack. Through a shim: `git-pipeline-hook HOOK $PPID`.
        let invokedAs = baseName(argument(0) ?? "")
        let linked = HookWire.hooks.contains(invokedAs)
        let hook = linked ? invokedAs : (argument(1) ?? "post-receive")
        let receivePack = linked ? getppid() : argument(2).flatMap { Int32($0) }
        let input = readAll(0)
        let gitDirectory = absolutePath(environmentValue("GIT_DIR") ?? ".")
        let state = gitDirectory + "/pipeline"
        let updates = HookWire.refUpdates(input)
        // Read once: the few keys the hook needs all come from it.
        let config = readFile(gitDirectory + "/config")
        let notesRef = configValue(config, "notesref", section: "pipeline")
        if hook == "pre-receive" {
            let refused = updates.filter { HookWire.isProtected($0.ref, notesRef: notesRef) }
            if !refused.isEmpty {
                for update in refused {
                    print("git-pipeline: \(update.ref) holds the CI results and only the runner on the server writes it; " +
                          "push without it (read it with `git fetch origin 'refs/notes/*:refs/notes/*'`)")
                }
                exit(1)
            }
        }
        guard access(state, F_OK) == 0 else {
            if hook == "post-receive" { print("git-pipeline: not installed in this repository (run `git pipeline install`); nothing recorded") }
            exit(0)
        }
        // A shared repository: what we create (the journal, if install did not) keeps the group's access.
        if let mask = sharedUmask(configValue(config, "sharedrepository", section: "core")) { umask(mask) }
        let options = pushOptions()
        if hook == "pre-receive", let problem = HookWire.pushOptionProblem(options) {
            print("git-pipeline: \(problem); the push is refused")
            exit(1)
        }
        let id = pushIdentifier(receivePack)
        var journaled = updates.isEmpty
        if !updates.isEmpty {
            let kind = hook == "pre-receive" ? HookWire.intentKind : HookWire.doneKind
            let who = pusher(hostingUser: configValue(config, "hostinguser", section: "pipeline"))
            // The options go first, in the same write as the updates: whoever ingests the updates has them.
            let optionLines = options.enumerated().map { HookWire.optionLine(id: id, position: $0.offset, option: $0.element) }.joined()
            journaled = appendJournal(state, optionLines + updates.map { HookWire.journalLine(kind: kind, id: id, update: $0, pusher: who) }.joined())
            if !journaled {
                print("git-pipeline: error: cannot append to \(state)/\(HookWire.journalName): \(String(cString: strerror(errno))) — " +
                      "this push is not recorded; run `git pipeline doctor` on the server")
            }
        }
        // pre-receive wakes nobody: its intent matters only if post-receive dies, and the runner
        // finds it then (it looks at the journal every few seconds, and whenever it starts).
        guard hook == "post-receive" else { exit(0) }
        let socket = state + "/" + HookWire.socketName
        let request = Array((HookWire.pushPrefix + id + "\n").utf8) + input
        if options.contains("ci.wait") {
            // The runner answers, then follows the executions: each line is shown as it comes.
            switch askStreaming(socketPath: socket, request: request) {
            case .complete: exit(0)
            case .cut:
                print("git-pipeline: the runner stopped answering; the executions go on — results: git log --notes=\(notesName(notesRef))")
                exit(0)
            case .unanswered: break  // a runner is started below, and asked again
            }
        } else if let answer = ask(socketPath: socket, request: request) {
            writeAll(1, answer)
            exit(0)
        }
        // Nobody answered: a runner that is alive (busy, or on its way out) finds the push when
        // woken; otherwise we start one.
        touch(state + "/" + HookWire.runnerWakeName)
        // Deletions and other refs start nothing: they are decided whenever a runner next looks.
        let triggering = updates.filter { $0.triggers }
        guard journaled, !triggering.isEmpty else { exit(0) }
        if let problem = stateAccessProblem(state) {
            print("git-pipeline: this push is NOT recorded now: \(problem). It is in the push journal; a runner of the repository's " +
                  "owner records it when it starts. To let every pusher record: git config core.sharedRepository group && " +
                  "git pipeline install, or run the runner as a service; `git pipeline doctor` says more")
            exit(0)
        }
        var what = "the runner, busy, will queue"
        if !runnerAlive(state) {
            let full = parentFolder(currentExecutablePath()) + "/git-pipeline"
            if let problem = startRunner(full, gitDirectory: gitDirectory, log: state + "/runner.log") {
                print("git-pipeline: error: cannot start the runner \(full): \(problem) (keep git-pipeline and git-pipeline-hook side by side); " +
                      "the push is in the push journal and is recorded when a runner starts (`git pipeline runner`)")
                exit(0)
            }
            what = "the runner is starting and will queue"
        }
        let notes = notesName(notesRef)
        if options.contains("ci.wait") {
            // The runner just started (or is busy): ask it again once it listens.
            var waited = 0
            while waited < 20_000 {
                if access(socket, F_OK) == 0 {
                    switch askStreaming(socketPath: socket, request: request) {
                    case .complete: exit(0)
                    case .cut:
                        print("git-pipeline: the runner stopped answering; the executions go on — results: git log --notes=\(notes)")
                        exit(0)
                    case .unanswered: break
                    }
                }
                usleep(100_000)
                waited += 100
            }
            print("git-pipeline: ci.wait: no runner answered within 20 s, so this push does not wait")
        }
        for update in triggering {
            let short = String(update.new.prefix(7))
            print("git-pipeline: \(shortRefName(update.ref))@\(short) recorded; \(what) its pipelines — results: git log --notes=\(notes) -1 \(short)")
        }
        exit(0)
    }

    /// `git push -o` values, as git hands them to the receive hooks.
    static func pushOptions() -> [String] {
        guard let count = environmentValue("GIT_PUSH_OPTION_COUNT").flatMap({ Int($0) }), count > 0 else { return [] }
        return (0..<min(count, 100)).compactMap { environmentValue("GIT_PUSH_OPTION_\($0)") }
    }

    /// A branch or tag without its prefix, as the push output names it.
    static func shortRefName(_ ref: String) -> String {
        for prefix in ["refs/heads/", "refs/tags/"] where ref.hasPrefix(prefix) { return String(ref.dropFirst(prefix.count)) }
        return ref
    }

    /// `pipeline.notesRef` as `git log --notes=` takes it.
    static func notesName(_ notesRef: String?) -> String {
        guard let notesRef, !notesRef.isEmpty else { return "ci" }
        return notesRef.hasPrefix("refs/notes/") ? String(notesRef.dropFirst("refs/notes/".count)) : notesRef
    }

    /// Why this user's runner could not record: the state folder or the store not writable.
    static func stateAccessProblem(_ state: String) -> String? {
        for path in [state, state + "/state.sqlite"] where access(path, R_OK | W_OK) != 0 {
            let reason = String(cString: strerror(errno))
            var info = stat()
            _ = stat(path, &info)
            let owner = getpwuid(info.st_uid).map { String(cString: $0.pointee.pw_name) } ?? "\(info.st_uid)"
            let user = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(geteuid())"
            return "\(user) cannot write \(path) (\(reason); owner \(owner), mode \(String(info.st_mode & 0o7777, radix: 8)))"
        }
        return nil
    }

    /// True when a runner holds `runner.lock` (asked without waiting).
    static func runnerAlive(_ state: String) -> Bool {
        let fd = open(state + "/runner.lock", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return true }
        flock(fd, LOCK_UN)
        return false
    }

    /// Starts `git-pipeline runner` in a session of its own, stdin /dev/null, output appended to
    /// `log`, without git's variables, and does not wait for it: the push's output pipe is not
    /// held. Nil when it started; else why not.
    static func startRunner(_ executable: String, gitDirectory: String, log: String) -> String? {
        guard access(executable, X_OK) == 0 else { return String(cString: strerror(errno)) }
        // git-receive-pack's descriptors (its pipes) must not reach the runner: git would wait for
        // them to close, and the push with them.
        InheritedDescriptors.closeOnExec()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // 0666 under the umask: in a shared repository the log is the group's too.
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o666)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) | Int16(0x80) /* POSIX_SPAWN_SETSID */)
        ChildSignals.reset(&attributes)
        let words: [String] = [executable, "runner", "--git-dir", gitDirectory]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = currentEnvironment().filter { !$0.key.hasPrefix("GIT_") }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        return code == 0 ? nil : String(cString: strerror(code))
    }

    /// A whole file, or nil when it cannot be opened.
    static func readFile(_ path: String) -> [UInt8]? {
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
        guard let close = text.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = ASCIIText.fields(text[(close + 1)...], maxFields: 21)
        return fields.count > 19 ? ASCIIText.string(fields[19]) : nil
    }

    /// One write of every line, appended: the kernel never interleaves or cuts it, and a SIGKILL
    /// comes before or after it, not inside. The journal is opened for each push (no lock needed).
    static func appendJournal(_ state: String, _ text: String) -> Bool {
        let fd = open(state + "/" + HookWire.journalName, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o660)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        return written == bytes.count
    }

    /// Sets a file's times to now (creating it): the store's change signal, which wakes a runner.
    static func touch(_ path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o660)
        if fd >= 0 { _ = futimens(fd, nil); close(fd) }
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
    static func configValue(_ config: [UInt8]?, _ wanted: String, section wantedSection: String) -> String? {
        guard let config else { return nil }
        let wanted = Array(wanted.utf8), wantedSection = Array(wantedSection.utf8)
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), quote = UInt8(ascii: "\"")
        var section: [UInt8] = [], found: [UInt8]?
        for raw in ASCIIText.lines(config) {
            let line = raw.drop { $0 == space || $0 == tab }
            if line.first == UInt8(ascii: "[") {
                section = ASCIIText.lowercased(line.dropFirst().prefix { $0 != UInt8(ascii: "]") && $0 != space && $0 != quote })
                continue
            }
            guard section == wantedSection, let equals = line.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let key = ASCIIText.lowercased(line[..<equals].filter { $0 != space && $0 != tab })
            guard key == wanted else { continue }
            let value = line[(equals + 1)...].drop { $0 == space || $0 == tab }
            // The last one wins, as in git.
            found = value.prefix { $0 != space && $0 != tab && $0 != UInt8(ascii: "#") && $0 != UInt8(ascii: ";") }.filter { $0 != quote }
        }
        return found.map { String(decoding: $0, as: UTF8.self) }
    }

    /// The runner's answer, or nil when no runner answered completely.
    static func ask(socketPath: String, request: [UInt8]) -> [UInt8]? {
        guard var address = unixSocketAddress(socketPath) else { return nil }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { return nil }
        guard sendAll(fd, request) else { return nil }
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
        let end = Array((HookWire.endOfAnswer + "\n").utf8)
        guard answer.count >= end.count, Array(answer[(answer.count - end.count)...]) == end else { return nil }
        return Array(answer[..<(answer.count - end.count)])
    }

    enum StreamedAnswer { case complete, cut, unanswered }

    /// `ask` for `-o ci.wait`: the answer is written out as it arrives (without its end marker);
    /// only its start must come within the answer timeout, the rest comes as the executions move.
    static func askStreaming(socketPath: String, request: [UInt8]) -> StreamedAnswer {
        guard var address = unixSocketAddress(socketPath) else { return .unanswered }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .unanswered }
        defer { close(fd) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0, sendAll(fd, request) else { return .unanswered }
        shutdown(fd, Int32(SHUT_WR))
        let end = Array((HookWire.endOfAnswer + "\n").utf8)
        var pending: [UInt8] = []  // held back while it could be the start of the end marker
        var started = false
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, started ? -1 : answerTimeoutMilliseconds)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return started ? .cut : .unanswered }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 { if errno == EINTR { continue }; return started ? .cut : .unanswered }
            if n == 0 {
                if pending.count >= end.count, Array(pending[(pending.count - end.count)...]) == end {
                    writeAll(1, Array(pending[..<(pending.count - end.count)]))
                    return .complete
                }
                writeAll(1, pending)
                return started ? .cut : .unanswered
            }
            started = true
            pending += buffer[0..<n]
            // Everything up to the last line break that cannot be the marker goes out now.
            if let last = pending.lastIndex(of: 10) {
                var cut = last + 1
                if pending.count >= end.count, Array(pending[(pending.count - end.count)...]) == end { cut = pending.count - end.count }
                writeAll(1, Array(pending[..<cut]))
                pending.removeFirst(cut)
            }
        }
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

    static func readAll(_ fd: Int32) -> [UInt8] {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n > 0 { data += buffer[0..<n] } else if n < 0 && errno == EINTR { continue } else { break }
        }
        return data
    }

    /// Writes all of `bytes` to a descriptor (the push's output).
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            written += n
        }
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

    /// The last part of a path.
    static func baseName(_ path: String) -> String {
        let bytes = Array(path.utf8)
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return ASCIIText.string(bytes[(slash + 1)...])
    }

    /// The folder part of a path.
    static func parentFolder(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// The signal state a child starts with: nothing blocked, and the signals a parent may ignore or
/// catch back at their defaults. Shared with the engine's Spawn: libc only. (The caller sets
/// POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF in the flags.)
public enum ChildSignals {
    public static func reset(_ attributes: inout posix_spawnattr_t) {
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
    }
}

/// Descriptors a process inherited without close-on-exec (a parent's pipes). Shared with the
/// engine's Spawn: libc only.
public enum InheritedDescriptors {
    /// Marks every descriptor above 2 close-on-exec, so that nothing this process starts holds them.
    public static func closeOnExec() {
        guard let folder = opendir("/proc/self/fd") else { return }
        defer { closedir(folder) }
        let own = dirfd(folder)
        while let entry = readdir(folder) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard let fd = Int32(name), fd > 2, fd != own else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
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

/// Text as bytes, for the hook's path: git's input, the config file and /proc are ASCII where it
/// matters (separators, keys), and splitting them by byte pages in none of the Unicode machinery.
enum ASCIIText {
    /// The lines of `bytes` (split at LF; empty lines dropped).
    static func lines<C: Collection>(_ bytes: C) -> [C.SubSequence] where C.Element == UInt8 {
        bytes.split(separator: 10)
    }

    /// At most `maxFields` space-separated fields (runs of spaces count as one; the last field is
    /// the rest of the line).
    static func fields<C: Collection>(_ bytes: C, maxFields: Int) -> [C.SubSequence] where C.Element == UInt8 {
        bytes.split(separator: 32, maxSplits: maxFields - 1)
    }

    static func lowercased<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        bytes.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
    }

    static func string<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(decoding: bytes, as: UTF8.self)
    }
}
