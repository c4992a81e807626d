import Foundation
import Git

/// Settings from the repository's git config (section `pipeline.`), with their defaults.
public struct PipelineSettings: Sendable {
    public var notesRef = "refs/notes/ci"
    /// Seconds a runner waits for new work before it exits.
    public var runnerIdleSeconds: Double = 10
    /// Seconds between SIGTERM and SIGKILL when an action's process group is stopped.
    public var killGraceSeconds: Double = 10
    /// `pipeline.notify`: a shell command that receives each approval request (CodePipeline's
    /// approval notification JSON) on stdin, as an SNS topic would.
    public var notifyCommand: String?
    /// `pipeline.hostingUser`: the account a git hosting layer (gitolite, an ssh forced command)
    /// runs pushes as; only for it are GL_USER and its kin believed (World/Identity.swift).
    public var hostingUser: String?
    /// `pipeline.approvers`: who may decide Manual approvals that name no `approvers` of their own.
    public var approvers: [String] = []
    /// `pipeline.keepWorkspaces`: whose workspaces stay once executions end (Run/Housekeeping.swift).
    var keepWorkspaces = Housekeeping.KeepWorkspaces.lastFailed
    /// `pipeline.retainExecutions`: how many executions of a pipeline keep their logs and artifacts.
    public var retainExecutions = 500
    /// `pipeline.sandbox`: false runs actions on the host with the runner's powers (every note
    /// then says so); true (the default) runs them in bubblewrap (Executors/ActionSandbox.swift).
    public var sandbox = true
    /// `pipeline.sandboxReadable`: folders (comma- or space-separated) the sandbox shows read-only
    /// though they lie in a hidden one (a toolchain in the service user's home).
    public var sandboxReadable: [String] = []
    /// `pipeline.sandboxWritable`: folders the sandbox binds writable for every action (a drop
    /// folder the admin shares with builds). Never the repository or its state.
    public var sandboxWritable: [String] = []

    public init() {}

    public init(repository: Repository) throws {
        let config = try repository.configSnapshot()
        if let value = try config.string("pipeline.notesRef"), !value.isEmpty {
            notesRef = value.hasPrefix("refs/") ? value : "refs/notes/" + value
        }
        if let value = try config.string("pipeline.runnerIdleSeconds"), let seconds = Double(value) { runnerIdleSeconds = seconds }
        if let value = try config.string("pipeline.killGraceSeconds"), let seconds = Double(value) { killGraceSeconds = seconds }
        if let value = try config.string("pipeline.notify"), !value.isEmpty { notifyCommand = value }
        if let value = try config.string("pipeline.hostingUser"), !value.isEmpty { hostingUser = value }
        keepWorkspaces = Housekeeping.KeepWorkspaces(try config.string("pipeline.keepWorkspaces"))
        if let value = try config.string("pipeline.retainExecutions"), let count = Int(value), count > 0 { retainExecutions = count }
        if let value = try config.string("pipeline.sandbox") {
            sandbox = !["false", "no", "off", "0"].contains(value.lowercased())
        }
        if let value = try config.string("pipeline.sandboxReadable") { sandboxReadable = Self.list(value) }
        if let value = try config.string("pipeline.sandboxWritable") { sandboxWritable = Self.list(value) }
        if let value = try config.string("pipeline.approvers") { approvers = Self.list(value) }
    }

    /// A list setting: names or paths separated by commas or spaces.
    static func list(_ value: String) -> [String] { value.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init) }

    /// The notes ref as `git log --notes=NAME` names it: the one place this name is derived.
    public var notesName: String {
        notesRef.hasPrefix("refs/notes/") ? String(notesRef.dropFirst("refs/notes/".count)) : notesRef
    }

    /// The sibling ref with the machine-readable records (one JSON object per line).
    public var recordsRef: String { notesRef + "-records" }
}
