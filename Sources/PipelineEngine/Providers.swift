import Foundation
import Git
import PipelineModel

/// The Source action (provider Git): the SourceArtifact of the execution's commit.
struct GitSourceProvider {
    func run(_ context: ActionContext, store: Store) throws -> ActionOutcome {
        let repository = try Repository(path: context.layout.gitDirectory)
        let commit = try repository.commit(ObjectID(hex: context.execution.sourceRevision)!)
        context.log("Source: \(context.execution.ref) at \(commit.id.hex) (tree \(commit.tree.hex))")
        context.log("Source: \(commit.summary)")
        let started = Date()
        let artifact = try context.artifacts.sourceArtifact(tree: commit.tree) { context.log("Source: " + $0) }
        let seconds = String(format: "%.2f", Date().timeIntervalSince(started))
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
        try store.write { db in
            var execution = try ExecutionRecord.fetchOne(db, key: context.execution.id)!
            execution.sourceArtifactDigest = artifact.digest
            try execution.update(db)
        }
        return ActionOutcome(succeeded: true, summary: nil,
                             outputArtifacts: names.map { ($0, artifact.digest, artifact.size) }, outputVariables: variables)
    }
}

/// The Commands provider, as CodePipeline's Commands action: every command in order in one bash
/// session (so `cd` and `export` carry over), the first non-zero exit fails the action.
struct CommandsProvider {
    func run(_ context: ActionContext, onStart: (pid_t) throws -> Void) async throws -> ActionOutcome {
        let meta = context.workspace + ".meta"
        let secondary: [String: String]
        switch try context.unpackInputs() {
        case .success(let folders): secondary = folders
        case .failure(let outcome): return outcome
        }
        let script = Self.script(workspace: context.workspace, commands: context.action.commands, meta: meta,
                                 outputVariables: context.action.outputVariables)
        let environment = context.environment(sourceDirectory: context.workspace, secondaryInputs: secondary)
        let (exit, timedOut) = try await context.runScript(script, named: "commands.sh", environment: environment, onStart: onStart)
        if timedOut {
            return .failure("timed out after \(context.action.timeoutInMinutes) minutes", command: Self.failedCommand(meta: meta, commands: context.action.commands))
        }
        guard exit.succeeded else {
            let command = Self.failedCommand(meta: meta, commands: context.action.commands)
            return .failure(exit.description, command: command)
        }
        var outcome = ActionOutcome(succeeded: true, summary: nil)
        outcome.outputVariables = context.exportedVariables(names: context.action.outputVariables)
        for output in context.action.outputArtifacts {
            let stored = try context.artifacts.storeFolder(context.workspace, globs: output.files)
            if output.files != nil && stored.files == 0 {
                context.log("[Container] output artifact \(output.name): no file matches \(output.files!.joined(separator: ", "))")
                return .failure("output artifact \(output.name): no file matches \(output.files!.joined(separator: ", "))")
            }
            context.log("[Container] output artifact \(output.name): \(stored.files) files, sha256:\(stored.digest.prefix(12))")
            outcome.outputArtifacts.append((output.name, stored.digest, stored.size))
        }
        return outcome
    }


    static func script(workspace: String, commands: [String], meta: String, outputVariables: [String]) -> String {
        var lines = [
            "# git-pipeline Commands action: every command in one bash session, in order.",
            "cd -- \(shellQuote(workspace)) || exit 97",
            "__gp_commands=(",
        ]
        lines += commands.map { "  " + shellQuote($0) }
        lines += [
            ")",
            "for __gp_i in \"${!__gp_commands[@]}\"; do",
            "  printf '%s\\n' \"$__gp_i\" > \(shellQuote(meta + "/current"))",
            "  printf '[Container] %(%Y/%m/%d %H:%M:%S)T Running command %s\\n' -1 \"${__gp_commands[$__gp_i]}\"",
            "  eval \"${__gp_commands[$__gp_i]}\"",
            "  __gp_status=$?",
            "  if [ \"$__gp_status\" -ne 0 ]; then",
            "    printf '[Container] %(%Y/%m/%d %H:%M:%S)T Command did not exit successfully %s exit status %d\\n' -1 \"${__gp_commands[$__gp_i]}\" \"$__gp_status\"",
            "    exit \"$__gp_status\"",
            "  fi",
            "done",
            "printf '%s\\n' done > \(shellQuote(meta + "/current"))",
        ]
        lines += exportVariableLines(outputVariables, meta: meta)
        lines.append("exit 0")
        return lines.joined(separator: "\n") + "\n"
    }

    static func failedCommand(meta: String, commands: [String]) -> String? {
        guard let text = try? String(contentsOfFile: meta + "/current", encoding: .utf8),
              let index = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), commands.indices.contains(index) else { return nil }
        return commands[index]
    }
}
