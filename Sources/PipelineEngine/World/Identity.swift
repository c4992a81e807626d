import Foundation

/// Who runs a command or pushed: the one place the name is found, so that the next step (the OS
/// user, refined by the hosting layer's ssh identity; issue #10) changes one function.
public enum Identity {
    /// The user running a control command (start, stop, approve, …).
    public static func current(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        environment["USER"] ?? "unknown"
    }

    /// Who pushed, as the post-receive hook sees it (gitolite's GL_USER first).
    public static func pusher(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        environment["GL_USER"] ?? environment["USER"] ?? environment["LOGNAME"] ?? "unknown"
    }
}
