import GRDB

/// The audit trail, like CloudTrail: every control action (approve, reject, stop, retry, start,
/// rollback, transition) is an event with its actor, its parameters and, when refused, why.
/// `git pipeline events --json` shows them in EventBridge's envelope for CloudTrail calls.
enum Audit {
    static let detailType = "AWS API Call via CloudTrail"

    /// Records one call, in the caller's transaction; `error` is set when it was refused.
    static func record(_ db: Database, _ eventName: String, actor: Actor, executionId: String?, parameters: [String: String],
                       error: String? = nil, time: Double) throws {
        var detail: [String: JSONValue] = [
            "eventSource": .string("codepipeline.amazonaws.com"),
            "eventName": .string(eventName),
            "eventTime": .string(isoTime(time)),
            "userIdentity": .object(["type": .string("LocalUser"), "userName": .string(actor.name), "osUser": .string(actor.system)]),
            "requestParameters": .object(parameters.mapValues { .string($0) }),
        ]
        if let error {
            detail["errorCode"] = .string("AccessDeniedException")
            detail["errorMessage"] = .string(error)
        }
        var event = EventRecord(id: nil, time: time, detailType: detailType, executionId: executionId ?? "",
                                detail: jsonText(JSONValue.object(detail), pretty: false))
        try event.insert(db)
    }
}
