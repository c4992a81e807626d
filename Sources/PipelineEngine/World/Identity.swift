import Foundation
import HookClient

/// Who acts: the OS user of the process, refined by the ssh identity a git hosting layer gives.
public struct Actor: Sendable, Equatable, CustomStringConvertible {
    /// The name decisions and the audit trail use: the hosting layer's user when trusted, else the OS user.
    public var name: String
    /// The OS account the process runs as (getpwuid of its effective uid).
    public var system: String

    public init(name: String, system: String) {
        self.name = name
        self.system = system
    }

    public var description: String { name == system ? name : "\(name) (as \(system))" }
}

/// The one place a user's name is found (SPEC §9). `$USER` is never read: anyone sets it.
///
/// The hosting layer's variables — gitolite's `GL_USER`, `GITOLITE_USER`, a web server's
/// `REMOTE_USER`, and `GIT_PIPELINE_USER`, set per key by an `environment="GIT_PIPELINE_USER=…"`
/// option in the hosting account's `authorized_keys` — are believed only when the process runs as
/// that account (`pipeline.hostingUser`, e.g. `git`). There, users reach the server only through
/// the hosting layer's forced command and cannot set variables themselves (sshd's
/// PermitUserEnvironment is off; `environment=` lines are the administrator's). Anyone else with a
/// shell could set them, so for any other OS user they are ignored.
public enum Identity {
    public static let hostingVariables = HookWire.hostingVariables

    /// The acting user of this process.
    public static func current(hostingUser: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> Actor {
        let system = systemUser()
        guard let hostingUser, !hostingUser.isEmpty, hostingUser == system else { return Actor(name: system, system: system) }
        for variable in hostingVariables {
            if let value = environment[variable], !value.isEmpty { return Actor(name: value, system: system) }
        }
        return Actor(name: system, system: system)
    }

    /// The name of the process's effective user.
    public static func systemUser() -> String {
        getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(geteuid())"
    }

    /// True when `actor` is one of `approvers`: a user name, or `@group` holding the user (as a
    /// member or as its primary group).
    public static func isListed(_ actor: Actor, in approvers: [String]) -> Bool {
        for entry in approvers.map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            if entry.hasPrefix("@") {
                if isMember(actor.name, of: String(entry.dropFirst())) { return true }
            } else if entry == actor.name {
                return true
            }
        }
        return false
    }

    static func isMember(_ user: String, of group: String) -> Bool {
        guard let entry = getgrnam(group) else { return false }
        let gid = entry.pointee.gr_gid
        if let members = entry.pointee.gr_mem {
            var index = 0
            while let member = members[index] {
                if String(cString: member) == user { return true }
                index += 1
            }
        }
        return getpwnam(user).map { $0.pointee.pw_gid == gid } ?? false
    }
}
