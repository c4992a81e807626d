import Foundation
import GRDB

/// One Directory deployment, as the ledger keeps it.
public struct DeploymentRecord: Codable, FetchableRecord, PersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "deployments"
    public var id: String
    public var target: String
    public var pipeline: String
    public var executionId: String
    public var executionLabel: String
    public var stageName: String
    public var actionName: String
    public var revision: String
    public var bundleDigest: String
    public var releasePath: String
    public var kind: String
    public var status: String
    public var previousId: String?
    public var rolledBackFrom: String?
    public var failedEvent: String?
    public var message: String?
    public var startedAt: Double
    public var liveSince: Double?
    public var endedAt: Double?

    /// `d-1A2B3C4D5 (abc1234, server#3)`.
    public var label: String { "\(id) (\(revision.prefix(7)), \(executionLabel))" }
}

/// The deploy ledger: what is live in each target, from which commit and execution, since when,
/// and what was before.
public struct DeployLedger: Sendable {
    let store: Store

    public init(store: Store) { self.store = store }

    /// The deployment `current` points to: the last one that went live.
    public func live(target: String) throws -> DeploymentRecord? {
        try store.read { db in
            try DeploymentRecord.fetchOne(db, sql: "SELECT * FROM deployments WHERE target = ? AND liveSince IS NOT NULL ORDER BY liveSince DESC LIMIT 1",
                                          arguments: [target])
        }
    }

    /// The last deployment that succeeded (CodeDeploy's "last successful revision").
    public func lastSucceeded(target: String) throws -> DeploymentRecord? {
        try store.read { db in
            try DeploymentRecord.fetchOne(db, sql: "SELECT * FROM deployments WHERE target = ? AND status = 'Succeeded' ORDER BY endedAt DESC LIMIT 1",
                                          arguments: [target])
        }
    }

    public func deployment(_ id: String) throws -> DeploymentRecord? {
        try store.read { try DeploymentRecord.fetchOne($0, key: id) }
    }

    /// The deployments an execution made, oldest first (its page in the web console).
    public func deployments(execution executionId: String) throws -> [DeploymentRecord] {
        try store.read { try DeploymentRecord.fetchAll($0, sql: "SELECT * FROM deployments WHERE executionId = ? ORDER BY startedAt", arguments: [executionId]) }
    }

    /// Every deployment to `target`, newest first.
    func deploymentIds(target: String) throws -> [String] {
        try store.read { try String.fetchAll($0, sql: "SELECT id FROM deployments WHERE target = ? ORDER BY startedAt DESC", arguments: [target]) }
    }

    func save(_ record: DeploymentRecord) throws {
        try store.write { try record.save($0) }
    }

    /// Every target with its live deployment, for `status`.
    public func targets(pipeline: String? = nil) throws -> [(target: String, live: DeploymentRecord, before: DeploymentRecord?)] {
        let targets = try store.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT target FROM deployments" + (pipeline == nil ? "" : " WHERE pipeline = ?") + " ORDER BY target",
                                arguments: pipeline.map { [$0] } ?? [])
        }
        return try targets.compactMap { target in
            guard let live = try live(target: target) else { return nil }
            return (target, live, try live.previousId.flatMap(deployment))
        }
    }

    /// `live: d-… (abc1234, server#3) since 12:00:00Z; before: d-… (…)`.
    public func describe(target: String) throws -> String? {
        guard let live = try live(target: target) else { return nil }
        return Self.describe(live, before: try live.previousId.flatMap(deployment))
    }

    static func describe(_ live: DeploymentRecord, before: DeploymentRecord?) -> String {
        let since = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: live.liveSince ?? live.startedAt))
        var text = "live: \(live.label)" + (live.kind == "Deploy" ? "" : " [\(live.kind)]") + " since \(since)"
        if live.status == "Failed" { text += " (its deployment failed at \(live.failedEvent ?? "?"))" }
        if let before { text += "; before: \(before.label)" }
        return text
    }
}
