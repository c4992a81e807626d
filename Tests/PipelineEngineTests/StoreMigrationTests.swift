import Foundation
import GRDB
@testable import PipelineEngine
import XCTest

/// Migrations give the rows a store already has what new rows get on insert.
final class StoreMigrationTests: XCTestCase {
    func testOldRowsGetTheirPipelineVersionAndAttempt() throws {
        let path = NSTemporaryDirectory() + "migration-\(UUID().uuidString).sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let queue = try DatabaseQueue(path: path)
        try Store.migrator.migrate(queue, upTo: "v15 AWS names")
        try queue.write { db in
            func execution(_ id: String, _ number: Int, definition: String, rollbackTarget: String? = nil) throws {
                try db.execute(sql: """
                    INSERT INTO executions (id, pipeline, number, status, executionMode, ref, sourceRevision, triggerType, triggerDetail,
                                            definitionPath, definitionJSON, createdAt, rollbackTarget)
                    VALUES (?, 'app', ?, 'Succeeded', 'SUPERSEDED', 'refs/heads/main', 'c', 'WebhookV2', '{}', '.pipeline.yml', ?, ?, ?)
                    """, arguments: [id, number, definition, Double(number), rollbackTarget])
            }
            try execution("e1", 1, definition: "A")
            try execution("e2", 2, definition: "B")
            try execution("e3", 3, definition: "A", rollbackTarget: "e1")  // a rollback to #1: #1's version
            try execution("e4", 4, definition: "B")
            for state in ["STARTED", "FAILED", "RESUMED", "FAILED", "RESUMED", "SUCCEEDED"] {
                try db.execute(sql: "INSERT INTO events (time, detailType, executionId, detail) VALUES (0, ?, 'e2', ?)",
                               arguments: [Events.pipelineChange, "{\"state\":\"\(state)\"}"])
            }
        }
        try Store.migrator.migrate(queue)
        let rows = try queue.read { try Row.fetchAll($0, sql: "SELECT id, pipelineVersion, attempt FROM executions ORDER BY number") }
        XCTAssertEqual(rows.map { $0["pipelineVersion"] as Int }, [1, 2, 1, 2])
        XCTAssertEqual(rows.map { $0["attempt"] as Int }, [1, 3, 1, 1])
    }
}
