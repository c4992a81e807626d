import Foundation
import GRDB

/// The Manual approval action (Approval/Manual): it waits — holding its stage, as CodePipeline's
/// does — until someone runs `git pipeline approve|reject`, or `timeoutInMinutes` (default 7 days
/// in CodePipeline; the action's own value here) ends it Failed.
struct ManualApproval: ActionProvider {
    static let name = "Manual"

    func run(_ context: ActionContext) async throws -> ActionOutcome {
        let e = context.execution, store = context.store, actionId = context.actionId
        let now = { context.world.clock.now() }
        let command = "git pipeline approve \(e.pipeline)#\(e.number) --stage \(context.stage.name) --action \(context.action.name)"
        try store.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO approvals (actionId, executionId, stageName, actionName, status) VALUES (?, ?, ?, ?, 'Pending')",
                           arguments: [actionId, e.id, context.stage.name, context.action.name])
            try db.execute(sql: "UPDATE actions SET summary = ? WHERE id = ?", arguments: ["waiting for approval: \(command)", actionId])
        }
        context.log("[Approval] waiting for approval: \(command) (or reject)")
        if let data = context.action.configuration["CustomData"] { context.log("[Approval] \(data)") }
        if let link = context.action.configuration["ExternalEntityLink"] { context.log("[Approval] review: \(link)") }
        try? context.notes.update(executionId: e.id)
        let deadline = now() + Double(context.action.timeoutInMinutes) * 60
        notify(context, approveCommand: command, expires: deadline)
        while now() < deadline {
            // Taken before looking: a decision made meanwhile wakes the wait below at once.
            let seen = context.doorbell.generation
            let row = try store.read { db in
                try Row.fetchOne(db, sql: "SELECT status, summary, decidedBy FROM approvals WHERE actionId = ?", arguments: [actionId])
            }
            let status: String = row?["status"] ?? "Pending"
            let who: String = row?["decidedBy"] ?? "someone"
            let said = (row?["summary"] as String?).map { ": \($0)" } ?? ""
            if status == "Approved" {
                context.log("[Approval] approved by \(who)\(said)")
                return ActionOutcome(succeeded: true, summary: "approved by \(who)\(said)")
            }
            if status == "Rejected" {
                context.log("[Approval] rejected by \(who)\(said)")
                return .failure("rejected by \(who)\(said)")
            }
            // A stop ends the wait: an approval has no process to let finish.
            let stopping = try store.read { try ExecutionStatus.fetchOne($0, sql: "SELECT status FROM executions WHERE id = ?", arguments: [e.id]) } == .stopping
            if stopping {
                try close(actionId, as: "Stopped", store: store)
                return .failure("the execution was stopped while this approval waited")
            }
            await context.doorbell.wait(after: seen, timeout: deadline - now())
        }
        try close(actionId, as: "Expired", store: store)
        context.log("[Approval] no decision within \(context.action.timeoutInMinutes) minutes")
        return .failure("no decision within \(context.action.timeoutInMinutes) minutes (timeoutInMinutes)")
    }
}

extension ManualApproval {
    /// Ends a request nobody decided, so a late approve or reject is refused.
    func close(_ actionId: Int64, as status: String, store: Store) throws {
        try store.write { db in
            try db.execute(sql: "UPDATE approvals SET status = ? WHERE actionId = ? AND status = 'Pending'", arguments: [status, actionId])
        }
    }

    /// Sends CodePipeline's approval notification (the JSON an SNS topic would carry) on stdin to
    /// the action's `NotificationCommand`, else `pipeline.notify`. It runs on its own; its output
    /// and exit status go to the action's log, and it never decides the approval.
    func notify(_ context: ActionContext, approveCommand: String, expires: Double) {
        guard let command = context.action.configuration["NotificationCommand"] ?? context.settings.notifyCommand else { return }
        let e = context.execution
        var approval: [String: Any] = [
            "pipelineName": e.pipeline, "stageName": context.stage.name, "actionName": context.action.name,
            "pipelineExecutionId": e.id, "token": "\(e.id):\(context.stage.name):\(context.action.name)",
            "expires": ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: expires)),
            "approveCommand": approveCommand,
            "rejectCommand": approveCommand.replacingOccurrences(of: "git pipeline approve", with: "git pipeline reject"),
            "approvalReviewLink": "git pipeline show \(e.pipeline)#\(e.number)",
        ]
        if let data = context.action.configuration["CustomData"] { approval["customData"] = data }
        if let link = context.action.configuration["ExternalEntityLink"] { approval["externalEntityLink"] = link }
        let message: [String: Any] = ["region": "local", "consoleLink": "git pipeline status \(e.pipeline)", "approval": approval]
        let path = context.workspace + ".meta/approval.json"
        do {
            try context.world.files.createDirectory(context.workspace + ".meta")
            try JSONSerialization.data(withJSONObject: message, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                .write(to: URL(fileURLWithPath: path))
            context.log("[Approval] notifying: \(command)")
            var environment = context.environment(sourceDirectory: context.workspace, secondaryInputs: [:])
            environment["PIPELINE_APPROVAL_FILE"] = path
            let launcher = context.world.launcher
            // The message is the whole command's stdin (a pipeline, a comment at the end, several
            // lines): the shell's own, not a redirection appended to the command's text.
            var spec = ProcessLauncher.Spec(executable: "/bin/bash",
                                            arguments: ["--noprofile", "--norc", "-c", "exec < \"$PIPELINE_APPROVAL_FILE\"\n" + command],
                                            environment: environment, logPath: context.logPath)
            // The action's NotificationCommand is the pusher's code: it runs in the sandbox. The
            // admin's `pipeline.notify` is trusted and runs as the runner.
            if context.action.configuration["NotificationCommand"] != nil { try context.confine(&spec) }
            let pid = try launcher.start(spec).pid
            Task.detached {
                let exit = await launcher.wait(pid: pid, timeout: 300, grace: 2).0
                await ProcessSupervisor.terminate(group: pid, grace: 2)  // its leftovers, and its cgroup
                context.log("[Approval] notification command ended with \(exit.description)")
            }
        } catch {
            context.log("[Approval] cannot notify: \(error)")
        }
    }
}
