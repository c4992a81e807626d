import Foundation
import Git
import GRDB
import PipelineModel

/// Notification rules, as EventBridge rules on CodePipeline's events: in the server's git config
/// (the admin's, trusted),
///
///     [notification "failures"]
///         state = FAILED                 # any of the given values (state, pipeline, stage, action, detailType)
///         pipeline = app
///         webhook = http://127.0.0.1:9000/hook
///         format = slack                 # json (the event, the default) or slack ({"text": …})
///         command = /usr/local/bin/page-me   # the event's JSON on stdin
///
/// The runner matches each stored event against the rules and queues a delivery per target;
/// deliveries run beside the executions (never in their way), are retried with backoff, and a
/// last failure is in runner.log and `doctor`. Webhook URLs are secrets of a kind (Slack's are):
/// only their scheme and host are ever logged.
struct NotificationRule: Sendable, Equatable {
    var name: String
    var detailTypes: [String] = []
    var states: [String] = []
    var pipelines: [String] = []
    var stages: [String] = []
    var actions: [String] = []
    var commands: [String] = []
    var webhooks: [String] = []
    var mails: [String] = []
    var slack = false

    /// The rules of a config (`notification.NAME.KEY` entries).
    static func rules(_ config: ConfigSnapshot) throws -> [NotificationRule] {
        var byName: [String: NotificationRule] = [:], order: [String] = []
        for (name, value) in try config.entries(matching: "^notification\\..*\\.") {
            let parts = name.split(separator: ".")
            guard parts.count >= 3 else { continue }
            let rule = parts[1..<(parts.count - 1)].joined(separator: "."), key = parts.last!.lowercased()
            if byName[rule] == nil { byName[rule] = NotificationRule(name: rule); order.append(rule) }
            switch key {
            case "detailtype": byName[rule]!.detailTypes.append(value)
            case "state": byName[rule]!.states.append(value.uppercased())
            case "pipeline": byName[rule]!.pipelines.append(value)
            case "stage": byName[rule]!.stages.append(value)
            case "action": byName[rule]!.actions.append(value)
            case "command": byName[rule]!.commands.append(value)
            case "webhook": byName[rule]!.webhooks.append(value)
            case "mail" where NotificationDeclaration.isMailAddress(value): byName[rule]!.mails.append(value)
            case "format": byName[rule]!.slack = value.lowercased() == "slack"
            default: continue
            }
        }
        return order.compactMap { byName[$0] }.filter { !$0.targets.isEmpty }
    }


    /// Whether an event (its detail-type and detail) is one the rule wants: every field the rule
    /// names must hold one of its values.
    func matches(detailType: String, detail: JSONValue) -> Bool {
        func holds(_ wanted: [String], _ value: String?) -> Bool { wanted.isEmpty || value.map(wanted.contains) == true }
        return holds(detailTypes, detailType) && holds(states, detail["state"]?.string?.uppercased())
            && holds(pipelines, detail["pipeline"]?.string) && holds(stages, detail["stage"]?.string) && holds(actions, detail["action"]?.string)
    }

    var targets: [String] { commands.map { "command:" + $0 } + webhooks.map { (slack ? "slack:" : "webhook:") + $0 } + mails.map { "mail:" + $0 } }
}

extension NotificationRule {
    /// A definition's rule: its pipeline's events only, webhooks and mail only (the parser refuses
    /// commands there), named `PIPELINE/NAME` in logs and `doctor`.
    init(_ declared: NotificationDeclaration, pipeline: String) {
        name = pipeline + "/" + declared.name
        detailTypes = declared.detailTypes
        states = declared.states
        pipelines = [pipeline]
        stages = declared.stages
        actions = declared.actions
        webhooks = declared.webhooks
        mails = declared.mail.filter(NotificationDeclaration.isMailAddress)
        slack = declared.format == "slack"
    }
}

struct Notifier: Sendable {
    let layout: StateLayout
    let store: Store
    let world: World
    static let maxAttempts = 5

    /// Queues a delivery for each target of each rule that an event since the last look matches,
    /// and moves the mark past them, in one transaction. Returns how many it queued.
    func queue(rules: [NotificationRule]) throws -> Int {
        let now = world.clock.now()
        // Most looks find nothing new: a read, not a write transaction, on the runner's every turn.
        let behind = try store.read { db in
            try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM events")! > Store.counter(db, "notifiedEvent")
        }
        guard behind else { return 0 }
        return try store.write { db in
            let from = try Store.counter(db, "notifiedEvent")
            let events = try EventRecord.filter(Column("id") > from).order(Column("id")).limit(1000).fetchAll(db)
            guard let last = events.last?.id else { return 0 }
            var queued = 0
            // The rules of the definition each execution ran with: a push that changes them
            // changes them for its own executions, as CodePipeline's pipeline-level settings do.
            var declared: [String: [NotificationRule]] = [:]
            for event in events {
                if declared[event.executionId] == nil {
                    let declaration = try ExecutionRecord.fetchOne(db, key: event.executionId)?.declaration
                    declared[event.executionId] = declaration.map { d in (d.notifications ?? []).map { NotificationRule($0, pipeline: d.name) } } ?? []
                }
                let all = rules + (declared[event.executionId] ?? [])
                if all.isEmpty { continue }
                let detail = (try? JSONDecoder().decode(JSONValue.self, from: Data(event.detail.utf8))) ?? .null
                for rule in all where rule.matches(detailType: event.detailType, detail: detail) {
                    for target in rule.targets {
                        try db.execute(sql: "INSERT INTO deliveries (eventId, rule, target, status, nextAt, createdAt) VALUES (?, ?, ?, 'Pending', ?, ?)",
                                       arguments: [event.id, rule.name, target, now, now])
                        queued += 1
                    }
                }
            }
            try Store.setCounter(db, "notifiedEvent", to: last)
            return queued
        }
    }

    struct Due: Sendable {
        let id: Int64
        let eventId: Int64
        let rule: String
        let target: String
        let attempts: Int
    }

    /// The deliveries due now, marked as taken (their next try pushed out) so that one is never
    /// sent twice at once; and when the next one falls due (nil: none pending).
    func takeDue() throws -> (due: [Due], next: Double?) {
        let now = world.clock.now()
        let next = try store.read { db in try Double.fetchOne(db, sql: "SELECT MIN(nextAt) FROM deliveries WHERE status = 'Pending'") }
        guard let first = next, first <= now else { return ([], next) }
        return try store.write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, eventId, rule, target, attempts FROM deliveries WHERE status = 'Pending' AND nextAt <= ? ORDER BY id LIMIT 20",
                                        arguments: [now])
            for row in rows {
                try db.execute(sql: "UPDATE deliveries SET nextAt = ? WHERE id = ?", arguments: [now + 120, row["id"] as Int64])
            }
            let next = try Double.fetchOne(db, sql: "SELECT MIN(nextAt) FROM deliveries WHERE status = 'Pending'")
            return (rows.map { Due(id: $0["id"], eventId: $0["eventId"], rule: $0["rule"], target: $0["target"], attempts: $0["attempts"]) }, next)
        }
    }

    /// Sends one delivery and records how it went: delivered, tried again later (1 s, 2 s, 4 s, …),
    /// or failed for good after `maxAttempts`.
    func deliver(_ due: Due, log: @Sendable (String) -> Void) async {
        let reports = Reports(layout: layout, store: store)
        guard let event = try? store.read({ db in try EventRecord.fetchOne(db, key: due.eventId) }) else { return }
        let kind = due.target.prefix { $0 != ":" }, value = String(due.target.dropFirst(kind.count + 1))
        let problem: String?
        switch kind {
        case "command": problem = await runCommand(value, input: reports.eventJSON(event))
        case "slack": problem = HTTPPost.send(value, body: jsonText(["text": reports.eventText(event)], pretty: false))
        case "mail": problem = await sendMail(to: value, subject: reports.eventText(event), body: reports.eventJSON(event))
        default: problem = HTTPPost.send(value, body: reports.eventJSON(event))
        }
        let attempts = due.attempts + 1
        let shown = kind == "command" ? "command \(value)" : kind == "mail" ? "mail to \(value)" : "webhook \(HTTPPost.redacted(value))"
        let now = world.clock.now()
        _ = try? store.write { db in
            if let problem {
                let final = attempts >= Self.maxAttempts
                try db.execute(sql: "UPDATE deliveries SET status = ?, attempts = ?, nextAt = ?, lastError = ? WHERE id = ?",
                               arguments: [final ? "Failed" : "Pending", attempts, now + pow(2, Double(attempts - 1)), problem, due.id])
                if final { log("notification \(due.rule): \(shown) failed \(attempts) times, gave up: \(problem)") }
            } else {
                try db.execute(sql: "UPDATE deliveries SET status = 'Delivered', attempts = ?, lastError = NULL WHERE id = ?", arguments: [attempts, due.id])
            }
        }
    }

    /// A mail through the system's sendmail (`pipeline.sendmail`, a command line the admin sets,
    /// else /usr/sbin/sendmail or /usr/lib/sendmail): the address is an argument after `--` and in
    /// the To header, checked to be one plain address; the subject is the event's one-line text.
    func sendMail(to address: String, subject: String, body: String) async -> String? {
        guard NotificationDeclaration.isMailAddress(address) else { return "`\(address)` is not one mail address" }
        let configured = (try? Repository(path: layout.gitDirectory).configSnapshot().string("pipeline.sendmail")) ?? nil
        let sendmail = configured ?? ["/usr/sbin/sendmail", "/usr/lib/sendmail"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let sendmail, !sendmail.isEmpty else {
            return "no sendmail here (install an MTA, e.g. Debian's msmtp-mta, or set pipeline.sendmail)"
        }
        let oneLine = Sanitized.text(subject).replacingOccurrences(of: "\n", with: " ")
        let message = """
            To: \(address)
            Subject: [git-pipeline] \(oneLine)
            Content-Type: text/plain; charset=utf-8
            Auto-Submitted: auto-generated

            \(subject)

            \(body)

            """
        // `$@` holds the address: nothing of it is read as shell words.
        return await runCommand(sendmail + " -i -- \"$@\"", input: message, arguments: [address])
    }

    /// The admin's command, with the event's JSON on stdin; its output in pipeline/notifications.log.
    func runCommand(_ command: String, input: String, arguments: [String] = []) async -> String? {
        let file = layout.root + "/tmp/notification-\(UUID().uuidString).json"
        do {
            try FileManager.default.createDirectory(atPath: layout.root + "/tmp", withIntermediateDirectories: true)
            try (input + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        } catch {
            return "cannot write the event for the command: \(error)"
        }
        defer { unlink(file) }
        let spec = ProcessLauncher.Spec(executable: "/bin/bash", arguments: ["--noprofile", "--norc", "-c", "exec < \"$PIPELINE_EVENT_FILE\"\n" + command, "notify"] + arguments,
                                        environment: Spawn.cleanEnvironment().merging(["PIPELINE_EVENT_FILE": file]) { $1 },
                                        logPath: layout.root + "/notifications.log")
        do {
            let pid = try world.launcher.start(spec).pid
            let (exit, timedOut) = await world.launcher.wait(pid: pid, timeout: 60, grace: 2)
            await ProcessSupervisor.terminate(group: pid, grace: 2)
            if timedOut { return "the command ran past 60 s" }
            return exit.succeeded ? nil : "the command ended with \(exit.description)"
        } catch {
            return "cannot start the command: \(error)"
        }
    }
}

/// A JSON POST to a webhook: http:// spoken here over a socket, https:// through the system's
/// `curl` when it is installed (no TLS of our own).
enum HTTPPost {
    static let timeoutSeconds = 10

    /// `scheme://host[:port]/…` with nothing after the host: what may be logged of a URL.
    static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return "(a URL)" }
        let rest = url[scheme.upperBound...]
        let host = rest.prefix { $0 != "/" && $0 != "?" }.split(separator: "@").last ?? ""
        return url[..<scheme.upperBound] + host + "/…"
    }

    /// nil when the receiver answered 2xx; else what went wrong.
    static func send(_ url: String, body: String) -> String? {
        if url.hasPrefix("https://") { return curl(url, body: body) }
        guard url.hasPrefix("http://") else { return "not an http:// or https:// URL" }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        var path = String(rest.dropFirst(authority.count))
        if path.isEmpty { path = "/" }
        let hostPort = authority.split(separator: "@").last.map(String.init) ?? ""
        var host = hostPort, port = "80"
        if let colon = hostPort.lastIndex(of: ":"), !hostPort.hasSuffix("]") {
            host = String(hostPort[..<colon]); port = String(hostPort[hostPort.index(after: colon)...])
        }
        host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, port, &hints, &found) == 0, let address = found else { return "cannot resolve \(host)" }
        defer { freeaddrinfo(found) }
        let fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return "cannot make a socket" }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
            return "cannot connect to \(hostPort): \(String(cString: strerror(errno)))"
        }
        let bytes = Array(body.utf8)
        let request = "POST \(path) HTTP/1.1\r\nHost: \(hostPort)\r\nUser-Agent: git-pipeline\r\nContent-Type: application/json\r\n" +
            "Content-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
        guard UnixSocket.sendAll(fd, Array(request.utf8) + bytes) else { return "the receiver closed the connection" }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while answer.count < 65_536 {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            answer += buffer[0..<n]
            if answer.contains(10) { break }
        }
        let statusLine = String(decoding: answer.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let code = Int(parts[1]) else { return "no HTTP answer" }
        return (200..<300).contains(code) ? nil : "the receiver answered \(statusLine.dropFirst(parts[0].count + 1))"
    }

    static func curl(_ url: String, body: String) -> String? {
        guard let curl = ["/usr/bin/curl", "/bin/curl", "/usr/local/bin/curl"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return "https:// needs curl, which is not installed"
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: curl)
        // The URL on stdin's config, not the command line, where `ps` would show it.
        process.arguments = ["-sS", "-f", "-m", String(timeoutSeconds), "-H", "Content-Type: application/json", "--data-binary", body, "-K", "-"]
        let input = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        do { try process.run() } catch { return "cannot run curl: \(error)" }
        input.fileHandleForWriting.write(Data("url = \"\(url.replacingOccurrences(of: "\"", with: "%22"))\"\n".utf8))
        try? input.fileHandleForWriting.close()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return process.terminationStatus == 0 ? nil : "curl: " + message.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
