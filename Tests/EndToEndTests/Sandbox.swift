import Foundation
import XCTest

/// A temporary folder with a real bare repository (git-pipeline installed by the built binary) and a
/// clone to push from. Everything goes through the real `git` CLI, as users drive it.
final class Sandbox: Sendable {
    let root: String
    var server: String { root + "/server.git" }
    var clone: String { root + "/clone" }
    /// The one folder outside its workspace a test's actions may write (`pipeline.sandboxWritable`):
    /// where they leave markers and pid files for the test.
    var exchange: String { root + "/exchange" }

    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["GIT_PIPELINE_BINARY"] { return path }
        // The test bundle sits in .build/<config>/ beside the executable.
        var folder = Bundle(for: Sandbox.self).bundleURL
        if folder.pathExtension == "xctest" { folder.deleteLastPathComponent() }
        return folder.appendingPathComponent("git-pipeline").path
    }

    init(install: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws {
        root = NSTemporaryDirectory() + "git-pipeline-test-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw SandboxError(message: "build the binary first (`swift build`, or `make test`): \(Self.binary) is missing")
        }
        try git(["init", "-q", "--bare", "-b", "main", server], in: root)
        if install {
            try run(Self.binary, ["install", server], in: root)
            try git(["config", "pipeline.runnerIdleSeconds", "1"], in: server)
            try git(["config", "pipeline.killGraceSeconds", "1"], in: server)
            try FileManager.default.createDirectory(atPath: exchange, withIntermediateDirectories: true)
            try git(["config", "pipeline.sandboxWritable", exchange], in: server)
        }
        try git(["init", "-q", "-b", "main", clone], in: root)
        try git(["remote", "add", "origin", server], in: clone)
    }

    deinit {
        // Let the runner finish and exit (it idles out after a second) before the folder goes.
        let lock = server + "/pipeline/runner.lock"
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            let fd = open(lock, O_RDWR)
            if fd < 0 { break }
            let free = flock(fd, LOCK_EX | LOCK_NB) == 0
            close(fd)
            if free { break }
            usleep(100_000)
        }
        try? FileManager.default.removeItem(atPath: root)
    }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        var output: String { stdout + stderr }
    }

    @discardableResult
    func run(_ executable: String, _ arguments: [String], in directory: String? = nil, input: String? = nil,
             environment: [String: String] = [:], allowFailure: Bool = false) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
        process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory ?? root)
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("GIT_") }
        env["GIT_AUTHOR_NAME"] = "Tester"; env["GIT_AUTHOR_EMAIL"] = "tester@example.com"
        env["GIT_COMMITTER_NAME"] = "Tester"; env["GIT_COMMITTER_EMAIL"] = "tester@example.com"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe(), inPipe = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inPipe
        try process.run()
        if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
        try inPipe.fileHandleForWriting.close()
        // Read both pipes while the process runs, so a full pipe never blocks it.
        // @unchecked: written once before group.leave(), read only after group.wait().
        final class Collected: @unchecked Sendable { var data = Data() }
        let collected = Collected()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { collected.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let outData = collected.data
        process.waitUntilExit()
        let result = Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                            stderr: String(decoding: errData, as: UTF8.self))
        if !allowFailure && result.status != 0 {
            throw SandboxError(message: "\(executable) \(arguments.joined(separator: " ")) exited \(result.status):\n\(result.output)")
        }
        return result
    }

    @discardableResult
    func git(_ arguments: [String], in directory: String? = nil, allowFailure: Bool = false) throws -> Result {
        try run("git", arguments, in: directory ?? clone, allowFailure: allowFailure)
    }

    @discardableResult
    func pipeline(_ arguments: [String], allowFailure: Bool = false) throws -> Result {
        try run(Self.binary, arguments, in: server, allowFailure: allowFailure)
    }

    /// Writes files into the clone (paths relative to it).
    func write(_ files: [String: String]) throws {
        for (path, text) in files {
            let full = clone + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
    }

    /// Commits everything in the clone and returns the new commit id.
    @discardableResult
    func commit(_ message: String, files: [String: String] = [:]) throws -> String {
        try write(files)
        try git(["add", "-A"])
        try git(["commit", "-q", "--allow-empty", "-m", message])
        return try git(["rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Pushes and returns git's output (the `remote:` lines are in stderr).
    @discardableResult
    func push(_ refspecs: [String] = ["HEAD:main"], extra: [String] = []) throws -> Result {
        try git(["push", "origin"] + extra + refspecs)
    }

    /// Pushes with a runner answering the hook (one is started unless one listens), so the push
    /// prints what the runner queued: `#N queued for REF@C`. (With none to answer, the hook says
    /// `REF@C recorded` and starts one.)
    @discardableResult
    func pushAnswered(_ refspecs: [String] = ["HEAD:main"], extra: [String] = []) throws -> Result {
        try runnerAnswering()
        return try push(refspecs, extra: extra)
    }

    /// Waits until a runner listens on the hook socket, starting one when none holds the lock.
    func runnerAnswering() throws {
        let socket = server + "/pipeline/hook.sock"
        if !runnerHoldsLock() { _ = try startRunner(foreground: false) }
        let deadline = Date().addingTimeInterval(30)
        while !(FileManager.default.fileExists(atPath: socket) && runnerHoldsLock()) {
            guard Date() < deadline else { throw SandboxError(message: "no runner answers on \(socket)") }
            if !runnerHoldsLock() { _ = try startRunner(foreground: false) }
            usleep(10_000)
        }
    }

    /// True when a runner holds `pipeline/runner.lock`.
    func runnerHoldsLock() -> Bool {
        let fd = open(server + "/pipeline/runner.lock", O_RDONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return true }
        flock(fd, LOCK_UN)
        return false
    }

    /// True when the push said it recorded `commit` on `ref`: the runner's `#N queued for REF@C`,
    /// or the hook's own `REF@C recorded` when no runner answered.
    static func saysRecorded(_ push: Result, _ commit: String, ref: String = "main") -> Bool {
        let at = "\(ref)@\(commit.prefix(7))"
        return push.stderr.contains("queued for \(at)") || push.stderr.contains("git-pipeline: \(at) recorded;")
    }

    /// The `ci` note of a commit on the server, or "" when there is none yet.
    func note(_ commit: String, ref: String = "ci") throws -> String {
        try git(["notes", "--ref=\(ref)", "show", commit], in: server, allowFailure: true).stdout
    }

    /// Waits until the note of `commit` shows every one of `count` blocks finished, and returns it.
    func waitForNote(_ commit: String, blocks count: Int = 1, timeout: Double = 60) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            last = try note(commit)
            let headers = last.split(separator: "\n").filter { !$0.hasPrefix(" ") && $0.contains(" #") }
            let finished = headers.filter { line in ["Succeeded", "Failed", "Stopped", "Superseded", "Cancelled"].contains { line.contains(" \($0) ") } }
            if headers.count >= count && finished.count == headers.count { return last }
            usleep(100_000)
        }
        throw SandboxError(message: "no finished note on \(commit) after \(timeout)s; last note:\n\(last)\nrunner.log:\n" +
                           ((try? String(contentsOfFile: server + "/pipeline/runner.log", encoding: .utf8)) ?? ""))
    }
}

extension Sandbox {
    /// A one-stage pipeline (Build, action Quick) that runs one command.
    static func quickPipeline(_ command: String = "echo quick") -> String { Fixture.pipeline(stages: Fixture.quickStage(command)) }

    static func jsonString(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes]), as: UTF8.self)
    }

    /// The status of an execution (`show --json`).
    func executionStatus(_ name: String) throws -> String? {
        let shown = try JSONSerialization.jsonObject(with: Data(try pipeline(["show", name, "--json"]).stdout.utf8)) as! [String: Any]
        return (shown["pipelineExecution"] as? [String: Any])?["status"] as? String
    }

    /// Waits until an execution has `status`. Right after a push no runner answered, the execution
    /// is not there yet (the runner the hook started records it): until it is, it is "missing".
    func waitForStatus(_ name: String, _ status: String, timeout: Double = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var last: String?
        while Date() < deadline {
            let shown = try pipeline(["show", name, "--json"], allowFailure: true)
            if shown.status == 0 {
                last = (((try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8))) as? [String: Any])?["pipelineExecution"] as? [String: Any])?["status"] as? String
            } else if !shown.stderr.contains("no execution \(name)") {
                throw SandboxError(message: "show \(name): \(shown.stderr)")
            }
            if last == status { return }
            usleep(100_000)
        }
        throw SandboxError(message: "\(name) is \(last ?? "missing"), expected \(status) within \(timeout)s")
    }

    /// Waits until `path` exists (an action's marker) and returns its contents.
    func waitForFile(_ path: String, timeout: Double = 30) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: path, encoding: .utf8), !text.isEmpty { return text }
            usleep(50_000)
        }
        throw SandboxError(message: "\(path) did not appear in \(timeout)s")
    }

    /// Waits until a process whose command line has `word` as one of its arguments runs, and returns
    /// its pid as the host sees it (an action's `$!` is its pid inside the sandbox's namespace).
    func waitForProcess(withArgument word: String, timeout: Double = 30) throws -> pid_t {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where entry.first?.isNumber == true {
                guard let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), let pid = pid_t(entry) else { continue }
                if data.split(separator: 0).contains(where: { String(decoding: $0, as: UTF8.self) == word }) { return pid }
            }
            usleep(50_000)
        }
        throw SandboxError(message: "no process with the argument \(word) within \(timeout)s")
    }

    /// Waits until `count` executions exist and all have ended; returns their summaries, newest first.
    func waitForExecutions(_ count: Int, timeout: Double = 60) throws -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(timeout)
        var summaries: [[String: Any]] = []
        while Date() < deadline {
            let json = try pipeline(["history", "--json", "--limit", "1000"]).stdout
            summaries = (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["pipelineExecutionSummaries"] as? [[String: Any]] ?? []
            let terminal: Set<String> = ["Succeeded", "Failed", "Stopped", "Superseded", "Cancelled"]
            if summaries.count >= count && summaries.allSatisfy({ terminal.contains($0["status"] as? String ?? "") }) { return summaries }
            usleep(100_000)
        }
        throw SandboxError(message: "expected \(count) finished executions, got \(summaries.map { "\($0["pipelineName"]!) #\($0["pipelineExecutionNumber"]!) \($0["status"]!)" })")
    }
}

struct SandboxError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

extension Sandbox {
    /// Starts `git pipeline runner` (`--foreground`: a service's, never idle) in the background and
    /// waits until it listens for hooks. The caller stops it.
    func startRunner(foreground: Bool) throws -> Process {
        let socket = server + "/pipeline/hook.sock"
        if !runnerHoldsLock() { unlink(socket) }  // a killed runner's: the new one's is what we wait for
        let runner = Process()
        runner.executableURL = URL(fileURLWithPath: Self.binary)
        runner.arguments = ["runner"] + (foreground ? ["--foreground"] : []) + ["--git-dir", server]
        runner.standardError = FileHandle.nullDevice
        try runner.run()
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: socket) && Date() < deadline { usleep(10_000) }
        return runner
    }
}
