import Foundation

/// The time, injected: the runner, the scheduler's callers and the note renderer take a clock, so
/// tests can pin it.
public protocol WallClock: Sendable {
    /// Seconds since 1970.
    func now() -> Double
}

/// The system's clock.
public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Double { Date().timeIntervalSince1970 }
}

/// ISO 8601 UTC with seconds, as CodePipeline's API prints times.
public func isoTime(_ seconds: Double) -> String { isoTime(seconds, milliseconds: false) }

/// With milliseconds, as EventBridge's `start-time` (2023-10-26T13:49:39.208Z).
public func isoTime(_ seconds: Double, milliseconds: Bool) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.timeZone = TimeZone(identifier: "UTC")
    if milliseconds { formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds] }
    return formatter.string(from: Date(timeIntervalSince1970: seconds))
}
