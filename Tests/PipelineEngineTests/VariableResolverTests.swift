@testable import PipelineEngine
import PipelineModel
import XCTest

/// `#{namespace.Name}` resolution from the execution, its declaration and earlier actions' outputs.
final class VariableResolverTests: XCTestCase {
    let definition = """
        variables:
          - name: Env
            defaultValue: staging
          - name: Region
        stages:
          - name: Build
            actions:
              - name: Compile
                category: Build
                provider: Commands
                namespace: BuildVariables
                outputVariables: [TAG]
                commands: ["true"]
          - name: Deploy
            actions:
              - name: Ship
                category: Build
                provider: Commands
                commands: ["echo #{BuildVariables.TAG} to #{variables.Env} by #{codepipeline.PipelineExecutionId}"]
        """

    func declaration() throws -> PipelineDeclaration { try DefinitionParser.parse(definition, file: ".pipeline.yml", defaultName: "app") }

    func execution(variables: String? = nil) -> ExecutionRecord {
        ExecutionRecord(id: "e-1", pipeline: "app", number: 1, status: .inProgress, executionMode: "SUPERSEDED", ref: "refs/heads/main",
                        sourceRevision: String(repeating: "b", count: 40), triggerType: "WebhookV2", triggerDetail: "{}",
                        definitionPath: ".pipeline.yml", definitionJSON: nil, createdAt: 0, variables: variables)
    }

    func compile(_ status: ActionStatus, outputs: String?) -> ActionRecord {
        ActionRecord(id: 1, executionId: "e-1", stageName: "Build", actionName: "Compile", category: "Build", provider: "Commands", runOrder: 1,
                     attempt: 1, status: status, startedAt: 0, endedAt: 1, processGroup: nil, logPath: nil, summary: nil, errorMessage: nil,
                     failedCommand: nil, outputVariables: outputs, testReport: nil)
    }

    func testReferencesResolveFromDefaultsOutputsAndTheExecution() throws {
        let declaration = try declaration()
        let resolver = VariableResolver(execution: execution(), declaration: declaration,
                                        actions: [compile(.succeeded, outputs: #"{"TAG":"v1.2"}"#)])
        let ship = try resolver.resolve(try XCTUnwrap(declaration.stages.first { $0.name == "Deploy" }?.actions.first))
        // In a command line each value is one quoted word (the shell prints the same).
        XCTAssertEqual(ship.commands, ["echo 'v1.2' to 'staging' by 'e-1'"])
    }

    /// The runner skips loading the resolver for an action that refers to nothing: that must be
    /// exactly the actions whose resolution changes nothing.
    func testOnlyActionsThatReferToVariablesNeedTheResolver() throws {
        let declaration = try declaration()
        let plain = try XCTUnwrap(declaration.stages.first?.actions.first)
        let ship = try XCTUnwrap(declaration.stages.last?.actions.first)
        XCTAssertFalse(VariableResolver.refersToVariables(plain))
        XCTAssertTrue(VariableResolver.refersToVariables(ship))
        var configured = plain
        configured.configuration["NotificationCommand"] = "echo #{variables.Env}"
        XCTAssertTrue(VariableResolver.refersToVariables(configured))
        let resolver = VariableResolver(execution: execution(), declaration: declaration, actions: [compile(.succeeded, outputs: #"{"TAG":"v1"}"#)])
        XCTAssertEqual(try resolver.resolve(plain).commands, plain.commands)
        XCTAssertEqual(try resolver.resolve(plain).configuration, plain.configuration)
        XCTAssertNotEqual(try resolver.resolve(ship).commands, ship.commands)
    }

    func testStartVariablesOverrideDefaults() throws {
        let declaration = try declaration()
        let resolver = VariableResolver(execution: execution(variables: #"{"Env":"prod","Region":"eu"}"#), declaration: declaration, actions: [])
        XCTAssertEqual(try resolver.resolve("#{variables.Env} #{variables.Region}"), "prod eu")
    }

    func testOutputsOfAFailedActionAreNotVariables() throws {
        let resolver = VariableResolver(execution: execution(), declaration: try declaration(),
                                        actions: [compile(.failed, outputs: #"{"TAG":"v1.2"}"#)])
        XCTAssertThrowsError(try resolver.resolve("#{BuildVariables.TAG}")) { error in
            XCTAssertTrue("\(error)".contains("#{BuildVariables.TAG}"), "\(error)")
        }
    }

    func testEveryUnknownReferenceIsNamedAndPlainBracesStay() throws {
        let resolver = VariableResolver(values: ["variables.A": "1"])
        XCTAssertEqual(try resolver.resolve("#{variables.A} #{notAReference} ${HOME}"), "1 #{notAReference} ${HOME}")
        XCTAssertThrowsError(try resolver.resolve("#{variables.B} and #{Other.C}")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("#{variables.B}") && text.contains("#{Other.C}"), text)
        }
        XCTAssertEqual(try resolver.resolve("unclosed #{variables.A"), "unclosed #{variables.A")
    }
}

/// Values in shell command lines are one word of data, wherever the reference stands.
final class ShellQuotingTests: XCTestCase {
    let hostile = ["x'; touch /tmp/gp-pwned-unit; echo '", "a\"b$(touch /tmp/gp-pwned-unit)`touch /tmp/gp-pwned-unit`\\", "line one\nline two", "$HOME *", ""]

    func bash(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["--noprofile", "--norc", "-c", command]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    func testEveryValueIsPrintedAsItIsAndNothingRuns() throws {
        unlink("/tmp/gp-pwned-unit")
        for value in hostile {
            let resolver = VariableResolver(values: ["SourceVariables.CommitMessage": value])
            for template in ["printf '%s|' #{SourceVariables.CommitMessage}", "printf '%s|' \"[#{SourceVariables.CommitMessage}]\"",
                             "printf '%s|' '[#{SourceVariables.CommitMessage}]'"] {
                let command = try resolver.resolve(template, shell: true)
                let printed = try bash(command)
                let expected = template.contains("[") ? "[\(value)]|" : "\(value)|"
                XCTAssertEqual(printed, expected, "\(template) with \(value.debugDescription) ran as: \(command)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/gp-pwned-unit"), "a value ran as code")
        // Outside shell lines, values are plain text.
        XCTAssertEqual(try VariableResolver(values: ["variables.A": "it's"]).resolve("#{variables.A}"), "it's")
    }
}

/// In a JSON field (CodeBuild's EnvironmentVariables) a value stays inside its string.
final class JSONVariableTests: XCTestCase {
    func testAQuoteCannotEndTheStringAndAddAVariable() throws {
        let hostile = #"x", "type": "PLAINTEXT"}, {"name": "INJECTED", "value": "1"#
        let resolver = VariableResolver(values: ["SourceVariables.CommitMessage": hostile + "\n\\"])
        var action = try DefinitionParser.parse("""
            stages:
              - name: Build
                actions:
                  - name: Make
                    category: Build
                    provider: Buildspec
                    configuration:
                      EnvironmentVariables: '[{"name": "MESSAGE", "value": "#{SourceVariables.CommitMessage}", "type": "PLAINTEXT"}]'
            """, file: ".pipeline.yml", defaultName: "app").stages.last!.actions[0]
        action.inputArtifacts = []
        let json = try XCTUnwrap(try resolver.resolve(action).configuration["EnvironmentVariables"])
        let list = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: String]])
        XCTAssertEqual(list.count, 1, "a variable was injected: \(json)")
        XCTAssertEqual(list.first?["value"], hostile + "\n\\")
    }
}
