import Foundation
import Git
import GRDB
import PipelineModel
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

    /// A definition cached by an older parser (v17 rows: parser 0) is parsed again: its row had no
    /// push filters for a Source BranchName, and using it would run the pipeline for every branch.
    func testADefinitionCachedByAnOlderParserIsParsedAgain() throws {
        let folder = NSTemporaryDirectory() + "cache-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let initialise = Process()
        initialise.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        initialise.arguments = ["git", "init", "-q", "--bare", folder + "/repo.git"]
        try initialise.run()
        initialise.waitUntilExit()
        let repository = try Repository(path: folder + "/repo.git")
        let text = """
            stages:
              - name: Source
                actions:
                  - name: Checkout
                    category: Source
                    provider: CodeCommit
                    outputArtifacts: [SourceArtifact]
                    configuration: {RepositoryName: repo, BranchName: release}
              - name: Build
                actions:
                  - {name: Build, category: Build, provider: Commands, commands: [make]}
            """
        let blob = try repository.createBlob(Array(text.utf8))
        let queue = try DatabaseQueue(path: folder + "/store.sqlite")
        try Store.migrator.migrate(queue, upTo: "v17 execution attempts")
        try queue.write { db in
            // What the earlier parser cached: no filters, so every branch ran.
            try db.execute(sql: "INSERT INTO definitions (blob, path, pipeline, executionMode, definitionJSON, definitionError, filters) VALUES (?, '.pipeline.yml', 'repo', 'SUPERSEDED', NULL, NULL, '')",
                           arguments: [blob.hex])
        }
        try Store.migrator.migrate(queue)
        let cached = try queue.write { db in
            try DefinitionCache.definition(db, repository: repository, path: ".pipeline.yml", blob: blob, repositoryName: "repo")
        }
        let expected = try DefinitionParser.parse(text, file: ".pipeline.yml", defaultName: "repo").pushFilters
        XCTAssertFalse(expected.isEmpty)
        XCTAssertEqual(cached.pushFilters, expected, "the old row was used as it was")
        XCTAssertEqual(cached.parser, DefinitionParser.revision)
        let rows = try queue.read { try Row.fetchAll($0, sql: "SELECT parser, filters FROM definitions") }
        XCTAssertEqual(rows.count, 1, "the row is replaced, not kept beside the new one")
        XCTAssertEqual(rows.first?["parser"] as Int?, DefinitionParser.revision)
    }
}
