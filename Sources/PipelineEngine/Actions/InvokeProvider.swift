import Foundation
import PipelineModel

/// The Invoke provider `Command` (Lambda mapped to it): runs `configuration.Command` with
/// CodePipeline's job document on stdin, as a Lambda invoke action receives its event, and reads
/// the result from stdout — `{"outputVariables", "executionDetails": {"summary"}, "continuationToken"}`
/// for PutJobSuccessResult, `{"failureDetails": {"type", "message"}}` for PutJobFailureResult — or, with
/// no JSON, just the exit status. A continuation token invokes it again with the token in the job.
struct InvokeProvider: ActionProvider {
    static let name = "Command"

    func describe(_ action: Action) -> String {
        "[git-pipeline] runs `\(action.configuration["Command"] ?? "?")` with the job document on stdin\n"
    }

    static let maxInvocations = 100

    func run(_ context: ActionContext) async throws -> ActionOutcome {
        guard let command = context.action.configuration["Command"], !command.isEmpty else {
            let function = context.action.configuration["FunctionName"].map { " (the Lambda function \($0))" } ?? ""
            return .failure("configuration.Command is not set: name the executable that plays this action\(function)")
        }
        let secondary: [String: String]
        switch try context.unpackInputs() {
        case .success(let folders): secondary = folders
        case .failure(let outcome): return outcome
        }
        let outputs = context.workspace + ".outputs"
        for output in context.action.outputArtifacts {
            try context.world.files.createDirectory(outputs + "/" + output.name)
        }
        let environment = context.environment(sourceDirectory: context.workspace, secondaryInputs: secondary)
        let jobId = UUID().uuidString.lowercased()
        let deadline = context.world.clock.now() + Double(context.action.timeoutInMinutes) * 60
        let delay = context.action.configuration["ContinuationDelaySeconds"].flatMap(Double.init) ?? 1
        var token: String?
        for invocation in 1...Self.maxInvocations {
            let job = jobDocument(context, id: jobId, secondary: secondary, outputs: outputs, continuationToken: token)
            let jobPath = context.meta + "/job.\(invocation).json", resultPath = context.meta + "/result.\(invocation).json"
            try job.write(to: URL(fileURLWithPath: jobPath))
            context.log("[Invoke] invocation \(invocation): \(command)" + (token.map { " (continuationToken \($0))" } ?? ""))
            let q = shellQuote
            let script = "cd -- \(q(context.workspace)) || exit 97\neval \(q(command)) < \(q(jobPath)) > \(q(resultPath))\n"
            let (exit, timedOut) = try await context.runScript(script, named: "invoke.\(invocation).sh", environment: environment,
                                                                 timeoutSeconds: max(1, deadline - context.world.clock.now()))
            if timedOut { return .failure("timed out after \(context.action.timeoutInMinutes) minutes") }
            let output = (try? Data(contentsOf: URL(fileURLWithPath: resultPath))) ?? Data()
            let text = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { context.log("[Invoke] result: \(text)") }
            let result = text.isEmpty ? nil : (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
            if !text.isEmpty && result == nil && exit.succeeded {
                return .failure("the result on stdout is not a JSON object: \(text.prefix(200))")
            }
            if let failure = result?["failureDetails"] as? [String: Any] {
                let type = failure["type"] as? String ?? "JobFailed"
                return .failure("\(type): \(failure["message"] as? String ?? "no message")")
            }
            guard exit.succeeded else { return .failure("\(command) ended with \(exit.description)") }
            let details = result?["executionDetails"] as? [String: Any]
            let summary = (details?["summary"] ?? result?["summary"]) as? String
            if let next = result?["continuationToken"] as? String, !next.isEmpty {
                token = next
                if let summary { context.log("[Invoke] in progress: \(summary)") }
                try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
                continue
            }
            var outcome = ActionOutcome(succeeded: true, summary: summary)
            if let variables = result?["outputVariables"] as? [String: Any] {
                outcome.outputVariables = variables.mapValues { $0 as? String ?? "\($0)" }
            }
            for output in context.action.outputArtifacts {
                let stored = try context.artifacts.storeFolder(outputs + "/" + output.name, globs: output.files)
                context.log("[Invoke] output artifact \(output.name): \(stored.files) files, sha256:\(stored.digest.prefix(12))")
                outcome.outputArtifacts.append((output.name, stored.digest, stored.size))
            }
            return outcome
        }
        return .failure("still returning a continuationToken after \(Self.maxInvocations) invocations")
    }

    /// CodePipeline's job (the `CodePipeline.job` event), with local paths where S3 locations would be.
    func jobDocument(_ context: ActionContext, id: String, secondary: [String: String], outputs: String, continuationToken: String?) -> Data {
        let inputs: [[String: Any]] = context.action.inputArtifacts.enumerated().map { index, name in
            let path = index == 0 ? context.workspace : (secondary[name] ?? "")
            return ["name": name, "revision": context.execution.sourceRevision,
                    "location": ["type": "Local", "localLocation": ["path": path,
                                                                    "zipPath": context.availableArtifacts[name].map(context.artifacts.path(ofDigest:)) ?? ""]]]
        }
        let outputArtifacts: [[String: Any]] = context.action.outputArtifacts.map { output in
            ["name": output.name, "location": ["type": "Local", "localLocation": ["path": outputs + "/" + output.name]]]
        }
        var data: [String: Any] = [
            "actionConfiguration": ["configuration": context.action.configuration],
            "inputArtifacts": inputs,
            "outputArtifacts": outputArtifacts,
        ]
        if let continuationToken { data["continuationToken"] = continuationToken }
        let job: [String: Any] = ["CodePipeline.job": [
            "id": id, "accountId": "local", "data": data,
            "pipelineContext": ["pipelineName": context.execution.pipeline, "pipelineExecutionId": context.execution.id,
                                "stage": ["name": context.stage.name], "action": ["name": context.action.name]],
        ]]
        return (try? JSONSerialization.data(withJSONObject: job, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    }
}
