import Foundation
import Git
import GRDB
import PipelineHook
import PipelineModel

/// Parses the definitions of pushed revisions into the store's cache, keyed by (blob, path), so the
/// hook can decide and record without parsing YAML: a definition is parsed once, whatever the
/// number of pushes that carry it.
public enum DefinitionCache {
    /// Parses and caches the definitions of every revision a push names (what the hook needs).
    public static func warm(layout: StateLayout, updates: [RefUpdate]) throws {
        let repository = try Repository(path: layout.gitDirectory)
        let store = try Store(path: layout.database)
        for update in updates where update.triggers {
            guard let commit = try? repository.peelToCommit(update.new) else { continue }
            try warm(store: store, repository: repository, commit: commit, repositoryName: layout.repositoryName)
        }
    }

    /// Parses and caches every definition of `commit` that the cache does not hold yet.
    public static func warm(store: Store, repository: Repository, commit: ObjectID, repositoryName: String) throws {
        for definition in try Definitions.load(repository: repository, commit: commit, repositoryName: repositoryName) {
            let known = try store.read { db in
                try Bool.fetchOne(db, sql: "SELECT 1 FROM definitions WHERE blob = ? AND path = ?", arguments: [definition.blob.hex, definition.path])
            } ?? false
            if known { continue }
            var json: String?, error: String?, mode = ExecutionMode.superseded.rawValue, filters = ""
            switch definition.result {
            case .success(let declaration):
                json = String(decoding: try JSONEncoder().encode(declaration), as: UTF8.self)
                mode = declaration.executionMode.rawValue
                filters = PushFilter.encodeLines(declaration.triggers.flatMap(\.push))
            case .failure(let failure):
                error = failure.description
            }
            try store.write { db in
                try db.execute(sql: """
                    INSERT OR REPLACE INTO definitions (blob, path, pipeline, executionMode, definitionJSON, definitionError, filters)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [definition.blob.hex, definition.path, definition.pipelineName, mode, json, error, filters])
            }
        }
    }
}
