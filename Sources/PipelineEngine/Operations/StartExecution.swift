import Foundation
import Git
import GRDB
import PipelineModel

/// `git pipeline start`: an execution by hand (trigger type StartPipelineExecution) of a branch tip
/// or any revision, with pipeline variables overridden.
public enum ManualStart {
    /// Records the execution and returns it; the caller starts a runner.
    public static func start(layout: StateLayout, pipeline: String?, revision: String?, variables: [String: String],
                             startedBy actor: Actor, now: Double = Date().timeIntervalSince1970) throws -> ExecutionRecord {
        let repository = try Repository(path: layout.gitDirectory)
        let head = repository.headBranch() ?? "HEAD"
        let spec = revision ?? head
        let commit: ObjectID
        do { commit = try repository.resolveCommit(spec) } catch let error as GitError where error.isNotFound {
            throw OperationError(message: revision == nil
                ? "\(head) has no commits yet: push one first, or name a revision with --revision"
                : "`\(spec)` names no branch, tag or commit here (any revision git accepts works: main~1, v1.0, a commit id)",
                isUsage: revision != nil)
        } catch {
            throw OperationError(message: "cannot resolve `\(spec)`: \(error)", isUsage: revision != nil)
        }
        // A branch name keeps its ref (so BranchName and the note say it); anything else is a detached revision.
        let ref: String
        // (`main~1`, a tag, an id: not a branch's name, which is fine: it is looked up, not refused.)
        if let name = revision, ((try? repository.referenceTarget("refs/heads/" + name)) ?? nil) != nil {
            ref = "refs/heads/" + name
        } else if revision == nil {
            ref = head
        } else {
            ref = spec
        }
        let definitions = try Definitions.load(repository: repository, commit: commit, repositoryName: layout.repositoryName)
        let names = definitions.map(\.pipelineName)
        guard !definitions.isEmpty else { throw OperationError(message: "\(spec) (\(commit.short)) has no .pipeline.yml or .pipelines/*.yml", isUsage: false) }
        let chosen: LoadedDefinition
        if let pipeline {
            guard let match = definitions.first(where: { $0.pipelineName == pipeline }) else {
                throw OperationError(message: "no pipeline `\(pipeline)` at \(spec) (there: \(names.joined(separator: ", ")))", isUsage: true)
            }
            chosen = match
        } else {
            guard definitions.count == 1 else {
                throw OperationError(message: "\(spec) defines several pipelines (\(names.joined(separator: ", "))); name one", isUsage: true)
            }
            chosen = definitions[0]
        }
        let declaration: PipelineDeclaration
        switch chosen.result {
        case .success(let value): declaration = value
        case .failure(let error): throw OperationError(message: "\(chosen.path) does not validate:\n\(error)", isUsage: false)
        }
        // Without a revision, a pipeline whose Source names its branch runs that branch's tip, as
        // CodePipeline's "Release change" does.
        if revision == nil, declaration.triggers.isEmpty, let branch = declaration.sourceBranches.first, ref != "refs/heads/" + branch,
           ((try? repository.referenceTarget("refs/heads/" + branch)) ?? nil) != nil {
            return try start(layout: layout, pipeline: pipeline ?? declaration.name, revision: branch, variables: variables, startedBy: actor, now: now)
        }
        let declared = Set(declaration.variables.map(\.name))
        for name in variables.keys.sorted() where !declared.contains(name) {
            throw OperationError(message: "pipeline \(declaration.name) has no variable `\(name)` (declared: \(declared.sorted().joined(separator: ", ")))",
                          isUsage: true)
        }
        let detail: [String: String] = ["startedBy": actor.description, "revision": spec, "commit": commit.hex]
        let store = try Store(path: layout.database)
        return try store.write { db in
            let execution = ExecutionRecord(
                id: UUID().uuidString.lowercased(), pipeline: declaration.name, number: try Store.nextNumber(db, pipeline: declaration.name),
                status: .inProgress, executionMode: declaration.executionMode.rawValue, ref: ref,
                sourceRevision: commit.hex, triggerType: "StartPipelineExecution", triggerDetail: jsonText(detail, pretty: false),
                definitionPath: chosen.path, definitionJSON: String(decoding: try JSONEncoder().encode(declaration), as: UTF8.self),
                createdAt: now, variables: variables.isEmpty ? nil : String(decoding: try JSONEncoder().encode(variables), as: UTF8.self))
            try execution.insert(db)
            try Events.record(db, Events.pipelineChange, execution: execution, status: ExecutionStatus.inProgress, time: now)
            var parameters = ["name": declaration.name, "revision": spec]
            for (name, value) in variables { parameters["variable." + name] = value }
            try Audit.record(db, "StartPipelineExecution", actor: actor, executionId: execution.id, parameters: parameters, time: now)
            return execution
        }
    }
}
