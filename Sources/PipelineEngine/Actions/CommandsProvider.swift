import Foundation
import PipelineModel

/// The Commands provider, as CodePipeline's Commands action: every command in order in one bash
/// session (so `cd` and `export` carry over), the first non-zero exit fails the action.
struct CommandsProvider: ActionProvider {
    static let name = "Commands"

    func describe(_ action: Action) -> String {
        "[git-pipeline] commands, in one bash session:\n" + action.commands.map { "[git-pipeline]   \($0)\n" }.joined()
    }

    func run(_ context: ActionContext) async throws -> ActionOutcome {
        let meta = context.workspace + ".meta"
        let secondary: [String: String]
        switch try context.unpackInputs() {
        case .success(let folders): secondary = folders
        case .failure(let outcome): return outcome
        }
        let script = Self.script(workspace: context.workspace, commands: context.action.commands, meta: meta,
                                 outputVariables: context.action.outputVariables)
        let environment = context.environment(sourceDirectory: context.workspace, secondaryInputs: secondary)
        let (exit, timedOut) = try await context.runScript(script, named: "commands.sh", environment: environment)
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
