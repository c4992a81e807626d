import GRDB

/// A status in CodePipeline's words, stored as its raw text. Each kind says which of its values
/// are terminal; `StatusMachine` says which moves are allowed.
public protocol PipelineStatus: RawRepresentable, Codable, Hashable, Sendable, CaseIterable, DatabaseValueConvertible,
    CustomStringConvertible where RawValue == String {
    /// A terminal status is sticky: nothing but a retry moves it again.
    var isTerminal: Bool { get }
}

extension PipelineStatus {
    /// The word itself, as CodePipeline prints it (so `"\(status)"` is never a Swift case name).
    public var description: String { rawValue }
}

/// A pipeline execution's status (GetPipelineExecution's `status`).
public enum ExecutionStatus: String, PipelineStatus {
    case inProgress = "InProgress", stopping = "Stopping", stopped = "Stopped", succeeded = "Succeeded"
    case superseded = "Superseded", failed = "Failed", cancelled = "Cancelled"

    public var isTerminal: Bool { self != .inProgress && self != .stopping }
}

/// A stage execution's status (StageExecution's `status`).
public enum StageStatus: String, PipelineStatus {
    case inProgress = "InProgress", stopping = "Stopping", stopped = "Stopped", succeeded = "Succeeded"
    case failed = "Failed", cancelled = "Cancelled", skipped = "Skipped"

    public var isTerminal: Bool { self != .inProgress && self != .stopping }
}

/// An action execution's status (ActionExecution's `status`).
public enum ActionStatus: String, PipelineStatus {
    case inProgress = "InProgress", abandoned = "Abandoned", succeeded = "Succeeded", failed = "Failed"

    public var isTerminal: Bool { self != .inProgress }
}

/// Why a status moves: most moves are an outcome; a retry is the one way out of a terminal status.
public enum StatusCause: Sendable, Equatable {
    case outcome
    /// RetryStageExecution: a failed execution (and its failed stage) runs again.
    case retry
}

/// The one place where a status transition is decided. CodePipeline's rules:
/// - a terminal status is sticky (a failed execution never turns green);
/// - only a retry leaves one, and only from Failed (RetryStageExecution retries failed stages);
/// - a Stopping execution can only end Stopped (or Failed, when the runner breaks): whatever its
///   last stage did, it was stopped — CodePipeline's stop-and-wait ends Stopped too.
public enum StatusMachine {
    /// The status `current` takes when `requested` is asked for, or nil when the move is refused.
    public static func next(_ current: ExecutionStatus, _ requested: ExecutionStatus, cause: StatusCause = .outcome) -> ExecutionStatus? {
        switch (current, requested, cause) {
        case (.failed, .inProgress, .retry), (.stopped, .inProgress, .retry): return .inProgress
        case (_, _, .retry): return nil
        case (.inProgress, _, _): return requested
        case (.stopping, .stopping, _), (.stopping, .stopped, _), (.stopping, .failed, _): return requested
        case (.stopping, .succeeded, _), (.stopping, .superseded, _), (.stopping, .cancelled, _): return .stopped
        default: return nil
        }
    }

    /// The same rule for stages: a stage that failed is entered again only by a retry.
    public static func next(_ current: StageStatus?, _ requested: StageStatus, cause: StatusCause = .outcome) -> StageStatus? {
        guard let current else { return requested == .inProgress ? requested : nil }
        switch (current, requested, cause) {
        case (.failed, .inProgress, .retry), (.stopped, .inProgress, .retry): return .inProgress
        case (_, _, .retry): return nil
        case (.inProgress, _, _), (.stopping, _, _): return current == requested ? nil : requested
        default: return nil
        }
    }

    /// Actions: InProgress ends once; an ended action never changes (a retry is a new attempt).
    public static func next(_ current: ActionStatus, _ requested: ActionStatus) -> ActionStatus? {
        current == .inProgress && requested != .inProgress ? requested : nil
    }
}
