import Foundation
import Git
import PipelineModel

/// A pipeline definition file found in a revision, parsed or not.
public struct LoadedDefinition: Sendable {
    public let path: String
    public let blob: ObjectID
    public let result: Result<PipelineDeclaration, DefinitionError>

    /// The pipeline's name: declared, or from the file (`.pipelines/NAME.yml`), or the repository's.
    public var pipelineName: String {
        switch result {
        case .success(let declaration): declaration.name
        case .failure(let error): error.pipelineName ?? Definitions.defaultName(path: path, repositoryName: repositoryName)
        }
    }

    let repositoryName: String
}

/// Finds and parses the definitions of a revision: `.pipeline.yml` and `.pipelines/*.yml` (SPEC §3).
public enum Definitions {
    static let rootFiles = [".pipeline.yml", ".pipeline.yaml"]

    static func defaultName(path: String, repositoryName: String) -> String {
        if path.hasPrefix(".pipelines/") {
            var name = (path as NSString).lastPathComponent
            for suffix in [".yml", ".yaml"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
            return name
        }
        return repositoryName
    }

    /// Every definition in the tree of `commit`, in path order.
    public static func load(repository: Repository, commit: ObjectID, repositoryName: String) throws -> [LoadedDefinition] {
        let tree = try repository.commit(commit).tree
        var files: [(String, ObjectID)] = []
        for name in rootFiles {
            if let entry = try repository.treeEntry(in: tree, path: name), !entry.isTree { files.append((name, entry.id)) }
        }
        if let folder = try repository.treeEntry(in: tree, path: ".pipelines"), folder.isTree {
            for entry in try repository.treeEntries(folder.id) where !entry.isTree && (entry.name.hasSuffix(".yml") || entry.name.hasSuffix(".yaml")) {
                files.append((".pipelines/" + entry.name, entry.id))
            }
        }
        return try files.map { path, blob in
            let text = String(decoding: try repository.blob(blob), as: UTF8.self)
            let name = defaultName(path: path, repositoryName: repositoryName)
            let result: Result<PipelineDeclaration, DefinitionError>
            do throws(DefinitionError) {
                result = .success(try DefinitionParser.parse(text, file: path, defaultName: name))
            } catch {
                result = .failure(error)
            }
            return LoadedDefinition(path: path, blob: blob, result: result, repositoryName: repositoryName)
        }
    }
}
