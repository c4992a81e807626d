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
        case .failure(let error): error.pipelineName ?? DefinitionFiles.defaultName(path: path, repositoryName: repositoryName)
        }
    }

    let repositoryName: String
}

/// Finds and parses the definitions of a revision: `.pipeline.yml` and `.pipelines/*.yml` (SPEC §3).
public enum Definitions {
    /// Every definition in the tree of `commit`, in path order.
    public static func load(repository: Repository, commit: ObjectID, repositoryName: String) throws -> [LoadedDefinition] {
        try DefinitionFiles.list(repository: repository, commit: commit).map {
            try load(repository: repository, path: $0.path, blob: $0.blob, problem: $0.problem, repositoryName: repositoryName)
        }
    }

    /// One definition file, parsed.
    public static func load(repository: Repository, path: String, blob: ObjectID, problem: String? = nil,
                            repositoryName: String) throws -> LoadedDefinition {
        if let problem {
            let error = DefinitionError([Diagnostic(.error, SourceLocation(file: path, line: 1, column: 1), problem,
                                                    fix: "commit the definition itself, or a link to a file inside the repository")])
            return LoadedDefinition(path: path, blob: blob, result: .failure(error), repositoryName: repositoryName)
        }
        // As lint reads it: a file that is not UTF-8 text (or holds a NUL) fails here, where lint fails it,
        // instead of running as a pipeline named with replacement characters.
        let text: String
        switch DefinitionText.decode(try repository.blob(blob), file: path) {
        case .success(let decoded): text = decoded
        case .failure(let diagnostic):
            return LoadedDefinition(path: path, blob: blob, result: .failure(DefinitionError([diagnostic])), repositoryName: repositoryName)
        }
        let name = DefinitionFiles.defaultName(path: path, repositoryName: repositoryName)
        let result: Result<PipelineDeclaration, DefinitionError>
        do throws(DefinitionError) {
            result = .success(try DefinitionParser.parse(text, file: path, defaultName: name))
        } catch {
            result = .failure(error)
        }
        return LoadedDefinition(path: path, blob: blob, result: result, repositoryName: repositoryName)
    }
}
