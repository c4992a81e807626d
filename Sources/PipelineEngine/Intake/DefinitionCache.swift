import Foundation
import Git
import GRDB
import PipelineModel

/// A definition as parsed once, cached in the store by (blob, path): what a push needs to decide
/// and record without parsing YAML again, whatever the number of pushes that carry it.
struct CachedDefinition: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "definitions"
    var blob: String
    var path: String
    var pipeline: String
    var executionMode: String
    var definitionJSON: String?
    var definitionError: String?
    /// Push filters, one per line (PushFilter.encodeLines).
    var filters: String
    /// The `DefinitionParser.revision` that parsed it: a row of an older parser is parsed again.
    var parser: Int

    var pushFilters: [PushFilter] { PushFilter.decodeLines(filters) }
}

enum DefinitionCache {
    /// The cached definition of the file, parsed and cached first when the cache does not hold it.
    static func definition(_ db: Database, repository: Repository, path: String, blob: ObjectID, problem: String? = nil,
                           repositoryName: String) throws -> CachedDefinition {
        // A cached statement: the query interface would generate and prepare the SQL on every push.
        if let known = try CachedDefinition.fetchOne(db.cachedStatement(sql: "SELECT * FROM definitions WHERE blob = ? AND path = ? AND parser = ?"),
                                                     arguments: [blob.hex, path, DefinitionParser.revision]) { return known }
        let loaded = try Definitions.load(repository: repository, path: path, blob: blob, problem: problem, repositoryName: repositoryName)
        var cached = CachedDefinition(blob: blob.hex, path: path, pipeline: loaded.pipelineName, executionMode: ExecutionMode.superseded.rawValue,
                                      definitionJSON: nil, definitionError: nil, filters: "", parser: DefinitionParser.revision)
        switch loaded.result {
        case .success(let declaration):
            cached.definitionJSON = String(decoding: try JSONEncoder().encode(declaration), as: UTF8.self)
            cached.executionMode = declaration.executionMode.rawValue
            cached.filters = PushFilter.encodeLines(declaration.pushFilters)
        case .failure(let failure):
            cached.definitionError = failure.description
        }
        try cached.save(db)
        return cached
    }
}
