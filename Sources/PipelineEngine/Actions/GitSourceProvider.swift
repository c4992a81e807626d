import Foundation
import Git
import PipelineModel

/// The Source action (provider Git): the SourceArtifact of the execution's commit.
struct GitSourceProvider: ActionProvider {
    static let name = "Git"

    func run(_ context: ActionContext) async throws -> ActionOutcome {
        let repository = try Repository(path: context.layout.gitDirectory)
        let commit = try repository.commit(ObjectID(hex: context.execution.sourceRevision)!)
        context.log("Source: \(context.execution.ref) at \(commit.id.hex) (tree \(commit.tree.hex))")
        context.log("Source: \(commit.summary)")
        let started = context.world.clock.now()
        let artifact = try context.artifacts.sourceArtifact(commit: commit.id, tree: commit.tree) { context.log("Source: " + $0) }
        let seconds = String(format: "%.2f", context.world.clock.now() - started)
        context.log(artifact.reused
            ? "Source: tree already zipped; reusing sha256:\(artifact.digest) (\(artifact.size) bytes)"
            : "Source: wrote sha256:\(artifact.digest) (\(artifact.size) bytes) in \(seconds)s")
        let names = context.action.outputArtifacts.map(\.name)
        let formatter = ISO8601DateFormatter()
        let variables: [String: String] = [
            "CommitId": commit.id.hex,
            "CommitMessage": commit.message.trimmingCharacters(in: .whitespacesAndNewlines),
            "AuthorDate": formatter.string(from: Date(timeIntervalSince1970: Double(commit.author.time))),
            "CommitterDate": formatter.string(from: Date(timeIntervalSince1970: Double(commit.committer.time))),
            "BranchName": context.execution.ref.hasPrefix("refs/heads/") ? context.execution.refShortName : "",
            "RepositoryName": context.layout.repositoryName,
        ]
        try context.store.write { db in
            var execution = try ExecutionRecord.fetchOne(db, key: context.execution.id)!
            execution.sourceArtifactDigest = artifact.digest
            try execution.update(db)
        }
        return ActionOutcome(succeeded: true, summary: nil,
                             outputArtifacts: names.map { ($0, artifact.digest, artifact.size) }, outputVariables: variables)
    }
}
