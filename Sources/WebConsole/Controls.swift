import Foundation
import PipelineEngine

/// The buttons: each is one call into Operations, as the signed-in user (who then shows in the
/// audit trail, the note and the events, as with the CLI).
///
///     POST /REPO/PIPELINE/N/approve     stage, action, decision=approve|reject, summary
///     POST /REPO/PIPELINE/N/stop        mode=wait|abandon, reason
///     POST /REPO/PIPELINE/N/retry       mode=failed|all, stage (optional)
///     POST /REPO/PIPELINE/start         revision (optional), variables (NAME=VALUE lines)
///     POST /REPO/PIPELINE/rollback      stage, target (optional: PIPELINE#N or an id)
///     POST /REPO/PIPELINE/transition    stage, enabled=true|false, reason
///
/// The same paths under `/api/` answer `{"message": …}`.
enum Controls {
    struct Outcome {
        var message: String
        /// The page to show next.
        var location: String
    }

    static func perform(_ repository: ServedRepository, _ segments: [String], form: [String: String], actor: Actor) throws -> Outcome {
        let layout = repository.layout
        func field(_ name: String) throws -> String {
            guard let value = form[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
                throw ControlError(message: "this needs `\(name)`")
            }
            return value
        }
        func optional(_ name: String) -> String? {
            form[name].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        switch segments.count {
        case 3 where Int(segments[1]) != nil:
            let pipeline = segments[0], number = segments[1]
            let execution = "\(pipeline)#\(number)"
            let page = repository.path(pipeline, number)
            let message: String
            switch segments[2] {
            case "approve":
                let decision = optional("decision") ?? "approve"
                guard decision == "approve" || decision == "reject" else { throw ControlError(message: "decision is approve or reject, not \(decision)") }
                message = try ApprovalDecision.decide(layout: layout, execution: execution, stage: try field("stage"), action: try field("action"),
                                                      approve: decision == "approve", summary: optional("summary"), by: actor,
                                                      approvers: repository.settings().approvers)
                try Runner.startInBackground(layout)
            case "stop":
                let mode = optional("mode") ?? "wait"
                guard mode == "wait" || mode == "abandon" else { throw ControlError(message: "mode is wait or abandon, not \(mode)") }
                message = try StopExecution.stop(layout: layout, execution: execution, abandon: mode == "abandon", reason: optional("reason"), by: actor)
            case "retry":
                let mode = optional("mode") ?? "failed"
                guard mode == "failed" || mode == "all" else { throw ControlError(message: "mode is failed or all, not \(mode)") }
                message = try RetryExecution.retry(layout: layout, execution: execution, stage: optional("stage"), allActions: mode == "all", by: actor)
                try Runner.startInBackground(layout)
            default:
                throw ConsoleNotFound(message: "no button \(segments[2]) here")
            }
            return Outcome(message: message, location: page)
        case 2:
            let pipeline = segments[0]
            switch segments[1] {
            case "start":
                var variables: [String: String] = [:]
                for line in (form["variables"] ?? "").split(whereSeparator: \.isNewline) {
                    let text = line.trimmingCharacters(in: .whitespaces)
                    if text.isEmpty { continue }
                    guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                        throw ControlError(message: "variables are NAME=VALUE lines, not `\(text)`")
                    }
                    variables[String(text[..<equals])] = String(text[text.index(after: equals)...])
                }
                let execution = try ManualStart.start(layout: layout, pipeline: pipeline, revision: optional("revision"), variables: variables, startedBy: actor)
                try Runner.startInBackground(layout)
                return Outcome(message: "\(execution.label) started for \(execution.refShortName)@\(execution.sourceRevision.prefix(7))",
                               location: repository.path(execution.pipeline, String(execution.number)))
            case "rollback":
                let execution = try StageRollback.rollback(layout: layout, pipeline: pipeline, stage: try field("stage"), to: optional("target"), startedBy: actor)
                try Runner.startInBackground(layout)
                return Outcome(message: "\(execution.label) rolls \(try field("stage")) back to \(execution.sourceRevision.prefix(7))",
                               location: repository.path(execution.pipeline, String(execution.number)))
            case "transition":
                let enabled = optional("enabled") ?? "true"
                guard enabled == "true" || enabled == "false" else { throw ControlError(message: "enabled is true or false, not \(enabled)") }
                let message = try Transitions.set(layout: layout, pipeline: pipeline, stage: try field("stage"), enabled: enabled == "true",
                                                  reason: optional("reason"), by: actor)
                if enabled == "true" { try Runner.startInBackground(layout) }
                return Outcome(message: message, location: repository.path(pipeline))
            default:
                throw ConsoleNotFound(message: "no button \(segments[1]) here")
            }
        default:
            throw ConsoleNotFound(message: "no button at /\(repository.name)/\(segments.joined(separator: "/"))")
        }
    }
}

struct ControlError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
