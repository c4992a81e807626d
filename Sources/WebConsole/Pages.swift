import Foundation
import Git
import PipelineEngine

/// The console's pages: plain HTML rendered here, styled by /static/console.css, kept live by
/// /static/console.js (no framework, nothing from a CDN; the Content-Security-Policy allows
/// only our own files).
///
///     /                                   the repositories, their pipelines, latest per branch
///     /REPO                               one repository's pipelines
///     /REPO/changes                       server-sent events: the store changed
///     /REPO/PIPELINE                      the diagram: stages, actions, transitions, waiting
///     /REPO/PIPELINE/history              paged, ?branch= and ?status=
///     /REPO/PIPELINE/badge.svg            ?branch=
///     /REPO/PIPELINE/N                    an execution
///     /REPO/PIPELINE/N/log/ACTION         an action's log, live; …/stream (events), …/raw
///     /REPO/PIPELINE/N/artifacts/NAME     an artifact's zip
enum Pages {
    static func read(_ repository: ServedRepository, _ segments: [String], query: [String: String], viewer: Viewer) async throws -> ConsoleResponse {
        let said = query["said"]
        switch segments.count {
        case 0:
            return .html(layout(title: repository.name, crumbs: [(repository.name, nil)], viewer: viewer, live: repository.path("changes"),
                                said: said, main: try repositoryBlock(repository, heading: false)))
        case 1 where segments[0] == "changes":
            return Live.changes(repository)
        case 1:
            return .html(try pipeline(repository, segments[0], viewer: viewer, said: said))
        case 2 where segments[1] == "history":
            return .html(try history(repository, segments[0], query: query, viewer: viewer))
        case 2 where segments[1] == "badge.svg":
            return Badge.response(repository, pipeline: segments[0], branch: query["branch"])
        case 2 where Int(segments[1]) != nil:
            return .html(try execution(repository, try find(repository, segments[0], segments[1]), viewer: viewer, said: said))
        case 4 where segments[2] == "log", 5 where segments[2] == "log":
            let execution = try find(repository, segments[0], segments[1])
            guard let actionId = Int64(segments[3]), let action = try repository.store().actions(of: execution.id).first(where: { $0.id == actionId }) else {
                throw ConsoleNotFound(message: "\(execution.label) has no action \(segments[3])")
            }
            if segments.count == 5 {
                switch segments[4] {
                case "stream": return Live.log(repository, execution: execution, actionId: actionId, offset: UInt64(query["offset"] ?? "") ?? 0)
                case "raw":
                    let bytes = action.logPath.flatMap { FileManager.default.contents(atPath: $0) }.map { [UInt8]($0) } ?? []
                    return ConsoleResponse(status: 200, headers: [("Content-Type", "text/plain; charset=utf-8")], body: .bytes(bytes))
                default: throw ConsoleNotFound(message: "no page \(segments[4]) here")
                }
            }
            return .html(log(repository, execution, action, viewer: viewer))
        case 4 where segments[2] == "artifacts":
            let execution = try find(repository, segments[0], segments[1])
            guard let artifact = try repository.store().artifacts(of: execution.id).first(where: { $0.name == segments[3] }) else {
                throw ConsoleNotFound(message: "\(execution.label) has no artifact \(segments[3])")
            }
            return Live.file(ArtifactStore(layout: repository.layout).path(ofDigest: artifact.digest),
                             type: "application/zip", downloadName: "\(execution.pipeline)-\(execution.number)-\(artifact.name).zip")
        default:
            throw ConsoleNotFound(message: "no page /\(repository.name)/\(segments.joined(separator: "/"))")
        }
    }

    static func find(_ repository: ServedRepository, _ pipeline: String, _ number: String) throws -> ExecutionRecord {
        do { return try repository.store().findExecution("\(pipeline)#\(number)") } catch { throw ConsoleNotFound(message: "\(error)") }
    }

    // MARK: the frame

    static func h(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func pill(_ status: String) -> String { "<span class=\"pill st-\(h(status))\">\(h(status))</span>" }

    static func layout(title: String, crumbs: [(String, String?)], viewer: Viewer, live: String?, said: String? = nil, main: String) -> String {
        let trail = (["<a href=\"/\">git-pipeline</a>"] + crumbs.map { crumb in crumb.1.map { "<a href=\"\(h($0))\">\(h(crumb.0))</a>" } ?? h(crumb.0) })
            .joined(separator: " <span class=sep>›</span> ")
        let who = viewer.user.map { user in
            "<span class=who>\(h(user))</span> <form method=post action=/logout class=inline>\(csrf(viewer))<button class=link>sign out</button></form>"
        } ?? "<a href=/login>sign in</a>"
        return """
            <!doctype html>
            <html lang=en><head><meta charset=utf-8><meta name=viewport content="width=device-width,initial-scale=1">
            <title>\(h(title)) · git-pipeline</title>
            <link rel=stylesheet href=/static/console.css><script src=/static/console.js defer></script></head>
            <body\(live.map { " data-live=\"\(h($0))\"" } ?? "")>
            <header><nav>\(trail)</nav><div class=account>\(who)</div></header>
            <main>\(said.map { "<p class=said role=status>\(h($0))</p>" } ?? "")
            \(main)
            </main>
            </body></html>
            """
    }

    static func csrf(_ viewer: Viewer) -> String {
        viewer.csrf.map { "<input type=hidden name=_csrf value=\"\(h($0))\">" } ?? ""
    }

    static func time(_ seconds: Double?) -> String {
        seconds.map { "<time datetime=\"\(isoTime($0))\">\(h(isoTime($0).replacingOccurrences(of: "T", with: " ")))</time>" } ?? "–"
    }

    static func duration(_ start: Double?, _ end: Double?) -> String {
        guard let start else { return "" }
        return NoteRenderer.duration((end ?? Date().timeIntervalSince1970) - start, precise: false)
    }

    static func login(message: String?, next: String? = nil) -> String {
        layout(title: "Sign in", crumbs: [("sign in", nil)], viewer: Viewer(), live: nil, main: """
            <h1>Sign in</h1>
            \(message.map { "<p class=problem>\(h($0))</p>" } ?? "")
            <form method=post action=/login class=card id=login>\(next.map { "<input type=hidden name=next value=\"\(h($0))\">" } ?? "")
            <label>User <input name=user autocomplete=username required></label>
            <label>Token or password <input name=secret type=password autocomplete=current-password required></label>
            <button>Sign in</button>
            </form>
            <p class=hint>A token comes from <code>git pipeline serve token add USER</code> on the server; a password from the htpasswd file the console was started with.</p>
            """)
    }

    static func problem(status: Int, message: String) -> String {
        layout(title: "\(status)", crumbs: [("\(status)", nil)], viewer: Viewer(), live: nil,
               main: "<h1>\(status)</h1><p class=problem>\(h(message))</p><p><a href=\"/\">back to the console</a></p>")
    }

    // MARK: repositories

    static func index(_ catalog: RepositoryCatalog, viewer: Viewer) -> String {
        let repositories = catalog.all()
        let blocks = repositories.map { entry in
            (try? repositoryBlock(ServedRepository(name: entry.name, layout: entry.layout), heading: true))
                ?? "<section class=card><h2>\(h(entry.name))</h2><p class=problem>cannot read its store</p></section>"
        }
        let body = blocks.isEmpty ? "<p>No repository here has git-pipeline installed: <code>git pipeline install REPO.git</code>.</p>" : blocks.joined(separator: "\n")
        return layout(title: "Repositories", crumbs: [], viewer: viewer, live: "/changes", main: "<h1>Pipelines</h1>\n" + body)
    }

    /// A repository's pipelines, each with its latest execution per branch.
    static func repositoryBlock(_ repository: ServedRepository, heading: Bool) throws -> String {
        let store = try repository.store()
        var rows = ""
        for pipeline in try store.pipelineNames() {
            var seen: Set<String> = []
            let latest = try store.executions(pipeline: pipeline, limit: 300).filter { seen.insert($0.ref).inserted }
            for (index, e) in latest.enumerated() {
                rows += "<tr>" + (index == 0 ? "<td rowspan=\(latest.count)><a class=pipeline href=\"\(h(repository.path(pipeline)))\">\(h(pipeline))</a></td>" : "")
                rows += "<td>\(h(e.refShortName))</td><td>\(pill(e.status.rawValue))</td>"
                rows += "<td><a href=\"\(h(repository.path(pipeline, String(e.number))))\">#\(e.number)</a></td>"
                rows += "<td><code>\(h(String(e.sourceRevision.prefix(7))))</code> \(h(commitSummary(repository, e.sourceRevision) ?? ""))</td>"
                rows += "<td>\(time(e.createdAt))</td></tr>\n"
            }
        }
        let table = rows.isEmpty ? "<p>No executions yet: push a commit with a <code>.pipeline.yml</code>.</p>"
            : "<table class=latest><thead><tr><th>Pipeline</th><th>Branch</th><th>Status</th><th>Execution</th><th>Revision</th><th>Created</th></tr></thead><tbody>\n\(rows)</tbody></table>"
        return "<section class=\"card repository\" data-repository=\"\(h(repository.name))\">" +
            (heading ? "<h2><a href=\"\(h(repository.path()))\">\(h(repository.name))</a></h2>" : "<h1>\(h(repository.name))</h1>") + table + "</section>"
    }

    static func commit(_ repository: ServedRepository, _ revision: String) -> Commit? {
        guard let git = try? Repository(path: repository.layout.gitDirectory), let id = ObjectID(hex: revision) else { return nil }
        return try? git.commit(id)
    }

    static func commitSummary(_ repository: ServedRepository, _ revision: String) -> String? { commit(repository, revision)?.summary }

    // MARK: a pipeline

    static func pipeline(_ repository: ServedRepository, _ name: String, viewer: Viewer, said: String?) throws -> String {
        let store = try repository.store()
        let reports = Reports(layout: repository.layout, store: store)
        guard try store.pipelineNames().contains(name) else { throw ConsoleNotFound(message: "no pipeline \(name) in \(repository.name) (no executions yet)") }
        let state = try reports.statusJSON(pipeline: name)
        let signedIn = viewer.user != nil
        var diagram = ""
        for (index, stage) in state.stageStates.enumerated() {
            if index > 0 {
                let transition = stage.inboundTransitionState
                let enabled = transition?.enabled ?? true
                diagram += "<div class=\"transition \(enabled ? "enabled" : "disabled")\" data-stage=\"\(h(stage.stageName))\"><span class=arrow>↓</span>"
                if !enabled {
                    diagram += " <span class=reason>transition disabled" + (transition?.disabledReason.map { ": \(h($0))" } ?? "") +
                        (transition?.lastChangedBy.map { " (by \(h($0)))" } ?? "") + "</span>"
                }
                for waiting in stage.inboundExecutions ?? [] {
                    diagram += " <a class=waiting href=\"\(h(repository.path(name, String(waiting.pipelineExecutionNumber))))\">#\(waiting.pipelineExecutionNumber) waiting</a>"
                }
                if signedIn {
                    diagram += "<form method=post action=\"\(h(repository.path(name, "transition")))\" class=inline>\(csrf(viewer))" +
                        "<input type=hidden name=stage value=\"\(h(stage.stageName))\"><input type=hidden name=enabled value=\(enabled ? "false" : "true")>" +
                        (enabled ? "<input name=reason placeholder=\"reason\" class=small>" : "") +
                        "<button class=small>\(enabled ? "Disable transition" : "Enable transition")</button></form>"
                }
                diagram += "</div>\n"
            }
            let latest = try stage.latestExecution.flatMap { try store.execution(id: $0.pipelineExecutionId) }
            let stageRecord = try latest.flatMap { e in try store.stages(of: e.id).first { $0.name == stage.stageName } }
            let actions = try latest.map { e in try store.actions(of: e.id).filter { $0.stageName == stage.stageName } } ?? []
            let status = stage.latestExecution?.status ?? "NotRun"
            diagram += "<section class=\"stage st-\(h(status))\" data-stage=\"\(h(stage.stageName))\"><div class=stagehead><h3>\(h(stage.stageName))</h3> \(pill(status))"
            if let latest {
                diagram += " <a href=\"\(h(repository.path(name, String(latest.number))))\">#\(latest.number)</a> <code>\(h(String(latest.sourceRevision.prefix(7))))</code>"
                diagram += " <span class=duration>\(duration(stageRecord?.startedAt, stageRecord?.endedAt))</span>"
            }
            diagram += "</div><div class=actions>"
            let declared = stage.actionStates.map(\.actionName)
            for actionName in declared {
                let record = actions.filter { $0.actionName == actionName }.max { $0.attempt < $1.attempt }
                diagram += actionBox(repository, latest, actionName, record, viewer: viewer)
            }
            diagram += "</div>"
            if signedIn && index > 0 {
                diagram += "<details class=rollback><summary>Roll back \(h(stage.stageName))</summary><form method=post action=\"\(h(repository.path(name, "rollback")))\">\(csrf(viewer))" +
                    "<input type=hidden name=stage value=\"\(h(stage.stageName))\"><label>To <input name=target placeholder=\"\(h(name))#N (default: the last that succeeded here)\"></label>" +
                    "<button>Start rollback</button></form></details>"
            }
            diagram += "</section>\n"
        }
        var deployments = ""
        if !state.deployments.isEmpty {
            deployments = "<h2>Deployed</h2><table><thead><tr><th>Target</th><th>Revision</th><th>Execution</th><th>Status</th><th>Live since</th></tr></thead><tbody>" +
                state.deployments.map { d in
                    "<tr><td><code>\(h(d.target))</code></td><td><code>\(h(String(d.revision.prefix(7))))</code></td><td>\(h(d.execution))</td><td>\(pill(d.status))</td><td>\(h(d.liveSince))</td></tr>"
                }.joined() + "</tbody></table>"
        }
        let recent = try store.executions(pipeline: name, limit: 10)
        // The badge's URL changes with what it shows, so a live refresh never keeps a cached image.
        let badgeVersion = recent.first.map { "\($0.number)-\($0.status.rawValue)" } ?? "none"
        let start = signedIn ? """
            <details class=start><summary>Start an execution</summary>
            <form method=post action="\(h(repository.path(name, "start")))">\(csrf(viewer))
            <label>Revision <input name=revision placeholder="branch, tag or commit (default: HEAD's branch)"></label>
            <label>Variables <textarea name=variables rows=3 placeholder="NAME=VALUE, one per line"></textarea></label>
            <button>Start</button></form></details>
            """ : ""
        let main = """
            <div class=titlebar><h1>\(h(name))</h1> <img class=badge alt="status" src="\(h(repository.path(name, "badge.svg")))?v=\(h(badgeVersion))">
            <a href="\(h(repository.path(name, "history")))">History</a></div>
            \(start)
            <div class=diagram>\(diagram)</div>
            \(deployments)
            <h2>Recent executions</h2>\(executionTable(repository, recent))
            """
        return layout(title: name, crumbs: [(repository.name, repository.path()), (name, nil)], viewer: viewer, live: repository.path("changes"), said: said, main: main)
    }

    static func actionBox(_ repository: ServedRepository, _ execution: ExecutionRecord?, _ name: String, _ record: ActionRecord?, viewer: Viewer) -> String {
        let status = record?.status.rawValue ?? "NotRun"
        var box = "<div class=\"action st-\(h(status))\" data-action=\"\(h(name))\"><div class=actionhead><strong>\(h(name))</strong> \(pill(status))</div>"
        if let record, let execution {
            box += "<div class=meta>\(h(record.provider))" + (record.attempt > 1 ? " · attempt \(record.attempt)" : "") +
                " · <span class=duration>\(duration(record.startedAt, record.endedAt))</span>"
            if let id = record.id, record.logPath != nil {
                box += " · <a href=\"\(h(repository.path(execution.pipeline, String(execution.number), "log", String(id))))\">log</a>"
            }
            box += "</div>"
            if let summary = record.summary, !summary.isEmpty { box += "<div class=summary>\(h(summary))</div>" }
            if record.status == .failed, let message = record.errorMessage { box += "<div class=error>\(h(message))</div>" }
            if record.status == .inProgress && record.category == "Approval" && viewer.user != nil {
                box += approvalForm(repository, execution, record, viewer: viewer)
            }
        }
        return box + "</div>"
    }

    static func approvalForm(_ repository: ServedRepository, _ execution: ExecutionRecord, _ record: ActionRecord, viewer: Viewer) -> String {
        """
        <form method=post action="\(h(repository.path(execution.pipeline, String(execution.number), "approve")))" class=approval>\(csrf(viewer))
        <input type=hidden name=stage value="\(h(record.stageName))"><input type=hidden name=action value="\(h(record.actionName))">
        <input name=summary placeholder="summary (kept in the note)">
        <button name=decision value=approve class=approve>Approve</button> <button name=decision value=reject class=reject>Reject</button>
        </form>
        """
    }

    static func executionTable(_ repository: ServedRepository, _ rows: [ExecutionRecord]) -> String {
        if rows.isEmpty { return "<p>None.</p>" }
        return "<table class=executions><thead><tr><th>Execution</th><th>Status</th><th>Branch</th><th>Revision</th><th>Trigger</th><th>Created</th><th>Duration</th></tr></thead><tbody>" +
            rows.map { e in
                "<tr data-execution=\"\(e.number)\"><td><a href=\"\(h(repository.path(e.pipeline, String(e.number))))\">#\(e.number)</a></td><td>\(pill(e.status.rawValue))</td>" +
                    "<td>\(h(e.refShortName))</td><td><code>\(h(String(e.sourceRevision.prefix(7))))</code> \(h(commitSummary(repository, e.sourceRevision) ?? ""))</td>" +
                    "<td>\(h(e.triggerType))</td><td>\(time(e.createdAt))</td><td>\(duration(e.startedAt, e.endedAt))</td></tr>"
            }.joined(separator: "\n") + "</tbody></table>"
    }

    // MARK: history

    static let pageSize = 25

    static func history(_ repository: ServedRepository, _ name: String, query: [String: String], viewer: Viewer) throws -> String {
        let store = try repository.store()
        guard try store.pipelineNames().contains(name) else { throw ConsoleNotFound(message: "no pipeline \(name) in \(repository.name)") }
        let branch = query["branch"].flatMap { $0.isEmpty ? nil : $0 }
        let statusText = query["status"].flatMap { $0.isEmpty ? nil : $0 }
        let status = statusText.flatMap(ExecutionStatus.init(rawValue:))
        if let statusText, status == nil { throw ConsoleNotFound(message: "no status \(statusText) (statuses: \(ExecutionStatus.allNames))") }
        let page = max(Int(query["page"] ?? "") ?? 1, 1)
        let ref = branch.map { $0.hasPrefix("refs/") ? $0 : "refs/heads/" + $0 }
        let (rows, total) = try store.executions(pipeline: name, ref: ref, status: status, limit: pageSize, offset: (page - 1) * pageSize)
        let pages = max((total + pageSize - 1) / pageSize, 1)
        func link(_ number: Int) -> String {
            var items = ["page=\(number)"]
            if let branch { items.append("branch=" + (branch.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")) }
            if let statusText { items.append("status=" + statusText) }
            return repository.path(name, "history") + "?" + items.joined(separator: "&")
        }
        let options = ([""] + ExecutionStatus.allCases.map(\.rawValue)).map { value in
            "<option value=\"\(h(value))\"\(value == (statusText ?? "") ? " selected" : "")>\(value.isEmpty ? "any status" : h(value))</option>"
        }.joined()
        let pager = "<nav class=pager>" + (page > 1 ? "<a rel=prev href=\"\(h(link(page - 1)))\">← newer</a> " : "") +
            "page \(page) of \(pages) (\(total) execution\(total == 1 ? "" : "s"))" + (page < pages ? " <a rel=next href=\"\(h(link(page + 1)))\">older →</a>" : "") + "</nav>"
        let main = """
            <h1>\(h(name)) history</h1>
            <form method=get class=filters><label>Branch <input name=branch value="\(h(branch ?? ""))" placeholder="any"></label>
            <label>Status <select name=status>\(options)</select></label><button>Filter</button></form>
            \(executionTable(repository, rows))
            \(pager)
            """
        return layout(title: "\(name) history", crumbs: [(repository.name, repository.path()), (name, repository.path(name)), ("history", nil)],
                      viewer: viewer, live: page == 1 ? repository.path("changes") : nil, main: main)
    }

    // MARK: an execution

    static func execution(_ repository: ServedRepository, _ e: ExecutionRecord, viewer: Viewer, said: String?) throws -> String {
        let store = try repository.store()
        let view = try Reports(layout: repository.layout, store: store).showJSON(e)
        let stages = try store.stages(of: e.id)
        let actions = try store.actions(of: e.id)
        let signedIn = viewer.user != nil
        let commit = commit(repository, e.sourceRevision)
        var facts = "<dl class=facts>"
        facts += "<dt>Status</dt><dd>\(pill(e.status.rawValue))" + (e.statusSummary.map { " <span class=summary>\(h(Sanitized.text($0)))</span>" } ?? "") + "</dd>"
        facts += "<dt>Trigger</dt><dd>\(h(e.triggerType)) \(triggerDetail(e.triggerDetail))</dd>"
        facts += "<dt>Revision</dt><dd><code>\(h(e.sourceRevision))</code> on \(h(e.refShortName))" +
            (commit.map { " by \(h($0.author.name))" } ?? "") + "</dd>"
        if let commit { facts += "<dt>Message</dt><dd><pre class=message>\(h(commit.message.trimmingCharacters(in: .whitespacesAndNewlines)))</pre></dd>" }
        facts += "<dt>Mode</dt><dd>\(h(e.executionMode))\(e.rollbackTarget.map { " · rollback to \(h($0))" } ?? "")</dd>"
        facts += "<dt>Created</dt><dd>\(time(e.createdAt))</dd><dt>Started</dt><dd>\(time(e.startedAt))</dd><dt>Ended</dt><dd>\(time(e.endedAt))</dd>"
        facts += "<dt>Duration</dt><dd>\(duration(e.startedAt, e.endedAt))</dd>"
        facts += "<dt>Definition</dt><dd><code>\(h(e.definitionPath))</code></dd></dl>"
        if let errors = view.pipelineExecution.definitionErrors, !errors.isEmpty {
            facts += "<h2>Definition errors</h2><pre class=error>\(h(errors.joined(separator: "\n")))</pre>"
        }
        var buttons = ""
        if signedIn {
            let base = repository.path(e.pipeline, String(e.number))
            if !e.isTerminal {
                buttons += "<form method=post action=\"\(h(base + "/stop"))\" class=inline>\(csrf(viewer))<input name=reason placeholder=\"reason\" class=small>" +
                    "<button name=mode value=wait>Stop (let actions finish)</button> <button name=mode value=abandon class=reject>Stop and abandon</button></form>"
            }
            if e.status == .failed || e.status == .stopped {
                buttons += "<form method=post action=\"\(h(base + "/retry"))\" class=inline>\(csrf(viewer))" +
                    "<button name=mode value=failed>Retry failed actions</button> <button name=mode value=all>Retry all actions</button></form>"
            }
        }
        var body = ""
        for stage in stages {
            body += "<section class=\"stage st-\(h(stage.status.rawValue))\" data-stage=\"\(h(stage.name))\"><div class=stagehead><h3>\(h(stage.name))</h3> \(pill(stage.status.rawValue))" +
                " <span class=duration>\(duration(stage.startedAt, stage.endedAt))</span></div><table class=actiontable><thead><tr><th>Action</th><th>Provider</th><th>Attempt</th><th>Status</th><th>Started</th><th>Duration</th><th></th></tr></thead><tbody>"
            for a in actions where a.stageName == stage.name {
                body += "<tr class=\"st-\(h(a.status.rawValue))\" data-action=\"\(h(a.actionName))\"><td>\(h(a.actionName))</td><td>\(h(a.provider))</td><td>\(a.attempt)</td><td>\(pill(a.status.rawValue))</td>" +
                    "<td>\(time(a.startedAt))</td><td>\(duration(a.startedAt, a.endedAt))</td><td>" +
                    (a.id.map { a.logPath == nil ? "" : "<a href=\"\(h(repository.path(e.pipeline, String(e.number), "log", String($0))))\">log</a>" } ?? "") + "</td></tr>"
                var detail = ""
                if let summary = a.summary, !summary.isEmpty { detail += "<div class=summary>\(h(summary))</div>" }
                if a.status == .failed {
                    detail += "<div class=error>" + (a.failedCommand.map { "command <code>\(h($0))</code> failed: " } ?? "") + h(a.errorMessage ?? "") + "</div>"
                }
                if let json = a.testReport, let report = try? JSONDecoder().decode(TestReport.self, from: Data(json.utf8)) {
                    detail += "<div class=\"tests \(report.failed > 0 ? "failing" : "passing")\">\(h(report.summary))"
                    if !report.failures.isEmpty {
                        detail += "<ul class=failures>" + report.failures.map { "<li><code>\(h($0.name))</code>" + ($0.message.map { " — \(h($0))" } ?? "") + "</li>" }.joined() + "</ul>"
                    }
                    detail += "</div>"
                }
                if let json = a.outputVariables, let values = try? JSONDecoder().decode([String: String].self, from: Data(json.utf8)), !values.isEmpty {
                    detail += "<div class=outputs>outputs: " + values.sorted { $0.key < $1.key }.map { "<code>\(h($0.key))=\(h($0.value))</code>" }.joined(separator: " ") + "</div>"
                }
                if a.status == .inProgress && a.category == "Approval" && signedIn { detail += approvalForm(repository, e, a, viewer: viewer) }
                if !detail.isEmpty { body += "<tr class=detail><td colspan=7>\(detail)</td></tr>" }
            }
            body += "</tbody></table></section>\n"
        }
        if stages.isEmpty { body = "<p>No stage has run.</p>" }
        let variables = view.pipelineExecution.variables
        let variableTable = variables.isEmpty ? "" : "<h2>Variables</h2><table class=variables><tbody>" +
            variables.map { "<tr><td><code>\(h($0.name))</code></td><td><code>\(h($0.resolvedValue))</code></td></tr>" }.joined() + "</tbody></table>"
        let artifacts = view.pipelineExecution.artifacts
        let artifactList = artifacts.isEmpty ? "" : "<h2>Artifacts</h2><ul class=artifacts>" + artifacts.map { a in
            "<li><a download href=\"\(h(repository.path(e.pipeline, String(e.number), "artifacts", a.name)))\">\(h(a.name)).zip</a> <span class=size>\(a.size) bytes</span> <code class=digest>\(h(a.digest))</code></li>"
        }.joined() + "</ul>"
        let ledger = try DeployLedger(store: store).deployments(execution: e.id)
        let ledgerTable = ledger.isEmpty ? "" : "<h2>Deployments</h2><table class=ledger><thead><tr><th>Deployment</th><th>Target</th><th>Action</th><th>Kind</th><th>Status</th><th>Started</th><th>Live since</th><th>Message</th></tr></thead><tbody>" +
            ledger.map { d in
                "<tr><td><code>\(h(d.id))</code></td><td><code>\(h(d.target))</code></td><td>\(h(d.stageName))/\(h(d.actionName))</td><td>\(h(d.kind))</td><td>\(pill(d.status))</td>" +
                    "<td>\(time(d.startedAt))</td><td>\(time(d.liveSince))</td><td>\(h(d.message ?? ""))</td></tr>"
            }.joined() + "</tbody></table>"
        let main = """
            <div class=titlebar><h1>\(h(e.label))</h1> \(pill(e.status.rawValue)) <code class=id>\(h(e.id))</code></div>
            <div class=buttons>\(buttons)</div>
            \(facts)
            <h2>Stages</h2>\(body)
            \(variableTable)\(artifactList)\(ledgerTable)
            """
        return layout(title: e.label, crumbs: [(repository.name, repository.path()), (e.pipeline, repository.path(e.pipeline)), ("#\(e.number)", nil)],
                      viewer: viewer, live: repository.path("changes"), said: said, main: main)
    }

    /// The trigger's detail (a JSON object) as `key value` pairs; anything else as text.
    static func triggerDetail(_ detail: String) -> String {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(detail.utf8))) as? [String: Any] else {
            return "<span class=detail>\(h(detail))</span>"
        }
        return "<span class=detail>" + object.keys.sorted().map { key in
            let value = object[key].map { "\($0)" } ?? ""
            let shown = value.count == 40 && value.allSatisfy(\.isHexDigit) ? String(value.prefix(12)) : value
            return "<span class=pair>\(h(key)) <code>\(h(shown))</code></span>"
        }.joined(separator: " ") + "</span>"
    }

    // MARK: a log

    static func log(_ repository: ServedRepository, _ e: ExecutionRecord, _ action: ActionRecord, viewer: Viewer) -> String {
        // What the file holds now is in the page; the stream carries on from there.
        let bytes = action.logPath.flatMap { FileManager.default.contents(atPath: $0) }.map { [UInt8]($0) } ?? []
        let shown = Live.completeUTF8(bytes)
        let base = repository.path(e.pipeline, String(e.number), "log", String(action.id ?? 0))
        let main = """
            <div class=titlebar><h1>\(h(action.stageName))/\(h(action.actionName))</h1> <span id=log-status>\(pill(action.status.rawValue))</span>
            <span class=meta>attempt \(action.attempt) · \(h(action.provider))</span> <a href="\(h(base + "/raw"))">raw</a></div>
            <pre id=log class=log\(action.status.isTerminal ? "" : " data-stream=\"\(h(base + "/stream?offset=\(shown.count)"))\"")>\(h(String(decoding: shown, as: UTF8.self)))</pre>
            """
        return layout(title: "\(action.actionName) log", crumbs: [(repository.name, repository.path()), (e.pipeline, repository.path(e.pipeline)),
                                                                 ("#\(e.number)", repository.path(e.pipeline, String(e.number))), ("\(action.actionName) log", nil)],
                      viewer: viewer, live: nil, main: main)
    }
}

extension ExecutionStatus {
    static var allNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
