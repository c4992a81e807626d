import PipelineModel
import XCTest

final class DefinitionParserTests: XCTestCase {
    func parse(_ text: String) throws -> PipelineDeclaration {
        try DefinitionParser.parse(text, file: ".pipeline.yml", defaultName: "repo")
    }

    func errors(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [Diagnostic] {
        do {
            _ = try parse(text)
            XCTFail("expected the definition to be rejected", file: file, line: line)
            return []
        } catch let error as DefinitionError {
            return error.diagnostics
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
            return []
        }
    }

    let build = """
        name: app
        stages:
          - name: Build
            actions:
              - name: Compile
                category: Build
                provider: Commands
                commands: [make]
        """

    /// AWS's Commands action is `category: Compute` (actionTypeId Compute/AWS/Commands/1): accepted as written.
    func testComputeIsTheCommandsActionsCategoryAsInAWS() throws {
        let declaration = try parse("""
            name: app
            stages:
              - name: Build
                actions:
                  - name: Run
                    actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
                    commands: [make]
                  - name: Also
                    category: Compute
                    provider: Commands
                    commands: [make test]
            """)
        XCTAssertEqual(declaration.stages[1].actions.map(\.category), [.compute, .compute])
        XCTAssertEqual(declaration.stages[1].actions.map(\.provider), ["Commands", "Commands"])
        let wrong = errors("""
            stages:
              - name: Build
                actions:
                  - {name: Run, category: Compute, provider: Buildspec}
            """)
        XCTAssertTrue(wrong.contains { $0.message == "unknown provider `Buildspec` for category Compute" }, "\(wrong)")
    }

    func testImplicitSourceStageAndDefaults() throws {
        let declaration = try parse(build)
        XCTAssertEqual(declaration.name, "app")
        XCTAssertEqual(declaration.executionMode, .superseded)
        XCTAssertEqual(declaration.stages.map(\.name), ["Source", "Build"])
        XCTAssertEqual(declaration.stages[0].actions[0].outputArtifacts.map(\.name), ["SourceArtifact"])
        XCTAssertEqual(declaration.stages[1].actions[0].inputArtifacts, ["SourceArtifact"])
        XCTAssertEqual(declaration.stages[1].actions[0].runOrder, 1)
    }

    func testDefaultNameAndModes() throws {
        let declaration = try parse(build.replacingOccurrences(of: "name: app\n", with: "executionMode: queued\n"))
        XCTAssertEqual(declaration.name, "repo")
        XCTAssertEqual(declaration.executionMode, .queued)
        let bad = errors(build.replacingOccurrences(of: "name: app\n", with: "executionMode: SOMETIMES\n"))
        XCTAssertEqual(bad.first?.location.line, 1)
        XCTAssertTrue(bad.first!.message.contains("SUPERSEDED, QUEUED, PARALLEL"))
    }

    func testYAMLSyntaxErrorHasLineAndColumn() {
        let found = errors("stages:\n  - name: Build\n   actions: [\n")
        XCTAssertEqual(found.count, 1)
        XCTAssertTrue(found[0].message.hasPrefix("YAML syntax"), found[0].message)
        XCTAssertEqual(found[0].location.file, ".pipeline.yml")
        XCTAssertGreaterThanOrEqual(found[0].location.line, 3)
    }

    func testUnknownKeySuggestsTheRightOne() {
        let found = errors(build.replacingOccurrences(of: "runOrder", with: "x").replacingOccurrences(of: "provider: Commands", with: "provder: Commands"))
        XCTAssertEqual(found.count, 1, "\(found)")
        XCTAssertEqual(found[0].message, "unknown key `provder` in an action")
        XCTAssertEqual(found[0].fix, "did you mean `provider`?")
        XCTAssertEqual(found[0].location.line, 7)
        XCTAssertEqual(found[0].location.column, 9)
        XCTAssertEqual(found[0].description, ".pipeline.yml:7:9: error: unknown key `provder` in an action — did you mean `provider`?")
    }

    func testMissingRequiredFields() {
        let found = errors("""
            stages:
              - actions:
                  - name: A
                    provider: Commands
                    commands: [x]
            """)
        XCTAssertTrue(found.contains { $0.message == "a stage has no `name`" }, "\(found)")
        XCTAssertTrue(found.contains { $0.message == "action `A` has no `category`" }, "\(found)")
        XCTAssertTrue(errors("name: x\n").contains { $0.message == "the pipeline has no `stages`" })
    }

    func testDuplicateNames() {
        let found = errors("""
            stages:
              - name: Build
                actions:
                  - {name: A, category: Build, provider: Commands, commands: [x], outputArtifacts: [Out]}
                  - {name: A, category: Build, provider: Commands, commands: [x], outputArtifacts: [Out]}
              - name: Build
                actions:
                  - {name: B, category: Build, provider: Commands, commands: [x]}
            """)
        XCTAssertTrue(found.contains { $0.message == "action name `A` is used twice in stage `Build`" }, "\(found)")
        XCTAssertTrue(found.contains { $0.message == "stage name `Build` is used twice" && $0.location.line == 6 }, "\(found)")
        XCTAssertTrue(found.contains { $0.message == "output artifact name `Out` is used twice" }, "\(found)")
    }

    func testInputArtifactMustComeFromAnEarlierAction() {
        let found = errors("""
            stages:
              - name: Build
                actions:
                  - {name: A, category: Build, provider: Commands, commands: [x], inputArtifacts: [BuildOut]}
                  - {name: B, category: Build, provider: Commands, commands: [x], outputArtifacts: [BuildOutput], runOrder: 2}
            """)
        XCTAssertEqual(found.count, 1, "\(found)")
        XCTAssertEqual(found[0].message, "input artifact `BuildOut` of action `A` is not produced by any earlier action")
        XCTAssertTrue(found[0].fix?.hasPrefix("did you mean `BuildOutput`?") ?? false, "\(found[0])")
        XCTAssertEqual(found[0].location.line, 4)
        // A lower runOrder in the same stage is earlier.
        XCTAssertNoThrow(try parse("""
            stages:
              - name: Build
                actions:
                  - {name: B, category: Build, provider: Commands, commands: [x], outputArtifacts: [Out]}
                  - {name: A, category: Test, provider: Commands, commands: [x], inputArtifacts: [Out], runOrder: 2}
            """))
    }

    func testRunOrderRangeCategoryAndProvider() {
        let found = errors("""
            stages:
              - name: Build
                actions:
                  - {name: A, category: Build, provider: Commands, commands: [x], runOrder: 1000}
                  - {name: B, category: Bild, provider: Commands, commands: [x]}
                  - {name: C, category: Build, provider: Comands, commands: [x]}
            """)
        XCTAssertTrue(found.contains { $0.message.contains("runOrder must be a whole number from 1 to 999, not `1000`") }, "\(found)")
        XCTAssertTrue(found.contains { $0.message == "unknown category `Bild` in action `B`" && $0.fix == "did you mean `Build`?" }, "\(found)")
        XCTAssertTrue(found.contains { $0.message == "unknown provider `Comands` for category Build" && $0.fix == "did you mean `Commands`?" }, "\(found)")
    }

    func testSourceOnlyInTheFirstStage() {
        let found = errors("""
            stages:
              - name: Source
                actions:
                  - {name: Src, category: Source, provider: Git}
              - name: Build
                actions:
                  - {name: Late, category: Source, provider: CodeCommit}
                  - {name: A, category: Build, provider: Commands, commands: [x], inputArtifacts: [SourceArtifact]}
            """)
        XCTAssertTrue(found.contains { $0.message == "Source action `Late` is in stage `Build`, not the first stage" }, "\(found)")
    }

    func testTriggersSelectRefs() throws {
        let declaration = try parse(build + """

            triggers:
              - gitConfiguration:
                  push:
                    - branches: {includes: ["main", "release/*"], excludes: ["release/old"]}
                    - tags: {includes: ["v*"]}
            """)
        XCTAssertTrue(declaration.isTriggered(byRef: "refs/heads/main", changedPaths: nil))
        XCTAssertTrue(declaration.isTriggered(byRef: "refs/heads/release/2", changedPaths: nil))
        XCTAssertFalse(declaration.isTriggered(byRef: "refs/heads/release/old", changedPaths: nil))
        XCTAssertFalse(declaration.isTriggered(byRef: "refs/heads/feature", changedPaths: nil))
        XCTAssertTrue(declaration.isTriggered(byRef: "refs/tags/v1", changedPaths: nil))
        XCTAssertFalse(declaration.isTriggered(byRef: "refs/tags/nightly", changedPaths: nil))
        let plain = try parse(build)
        XCTAssertTrue(plain.isTriggered(byRef: "refs/heads/anything", changedPaths: nil))
        XCTAssertFalse(plain.isTriggered(byRef: "refs/tags/v1", changedPaths: nil))
    }
}

final class SourceVariableNameTests: XCTestCase {
    func testAnUnknownSourceVariableIsAnErrorAndTheKnownOnesAreNot() {
        let text = """
            stages:
              - name: Build
                actions:
                  - name: Make
                    category: Build
                    provider: Commands
                    commands: ["echo #{SourceVariables.CommitId} #{SourceVariables.BranchName}", "echo #{SourceVariables.FullRepositoryName}"]
            """
        do {
            _ = try DefinitionParser.parse(text, file: ".pipeline.yml", defaultName: "app")
            XCTFail("an unknown source variable must not validate")
        } catch {
            XCTAssertEqual(error.diagnostics.count, 1, "\(error)")
            XCTAssertTrue("\(error)".contains(".pipeline.yml:4:") && "\(error)".contains("#{SourceVariables.FullRepositoryName}, which the source does not set"), "\(error)")
        }
        XCTAssertNoThrow(try DefinitionParser.parse(text.replacingOccurrences(of: ", \"echo #{SourceVariables.FullRepositoryName}\"", with: ""),
                                                    file: ".pipeline.yml", defaultName: "app"))
    }

    /// A CODEBUILD_CLONE_REF artifact goes to CodeBuild actions only on AWS: another consumer is warned.
    func testACloneRefArtifactForANonCodeBuildActionIsWarned() throws {
        let declaration = try DefinitionParser.parse("""
            stages:
              - name: Source
                actions:
                  - name: Checkout
                    category: Source
                    provider: CodeCommit
                    outputArtifacts: [Src]
                    configuration: {RepositoryName: repo, OutputArtifactFormat: CODEBUILD_CLONE_REF}
              - name: Build
                actions:
                  - {name: Compile, category: Build, provider: CodeBuild, inputArtifacts: [Src]}
                  - {name: Script, category: Build, provider: Commands, commands: [git log], inputArtifacts: [Src]}
            """, file: ".pipeline.yml", defaultName: "repo")
        let warnings = declaration.warnings.filter { $0.message.contains("CODEBUILD_CLONE_REF artifact") }
        XCTAssertEqual(warnings.map(\Diagnostic.message), ["action `Script` (Build/Commands) takes `Src`, a CODEBUILD_CLONE_REF artifact: " +
                                                 "CodePipeline gives those to CodeBuild actions only; here it gets the clone all the same"])
        XCTAssertEqual(warnings.first?.location.line, 12)
        XCTAssertEqual(declaration.cloneArtifacts, ["Src"])
    }
}

extension DefinitionParserTests {
    /// `notifications:` takes git config's keys, one value or a list each; what can't be sent is
    /// an error with its line, and so is a command (a pusher's definition runs nothing on the server).
    func testNotificationsAreRulesWithWebhooksAndMailOnly() throws {
        let good = try parse(build + """

            notifications:
              - name: broken
                state: [failed, STOPPED]
                stage: Build
                webhook: https://chat.example.com/x
                format: slack
                mail: [dev@example.com, ops@example.org]
            """)
        let rule = try XCTUnwrap(good.notifications?.first)
        XCTAssertEqual(rule.states, ["FAILED", "STOPPED"])
        XCTAssertEqual(rule.stages, ["Build"])
        XCTAssertEqual(rule.mail, ["dev@example.com", "ops@example.org"])
        XCTAssertEqual(rule.format, "slack")
        XCTAssertNil(try parse(build).notifications)

        let found = errors(build + """

            notifications:
              - name: a
                state: EXPLODED
                mail: "x@example.com\\nBcc: all@example.com"
              - name: b
                webhook: ftp://host/
              - name: c
                command: rm -rf /
              - name: d
                state: FAILED
            """)
        let text = found.map(\.description).joined(separator: "\n")
        XCTAssertTrue(text.contains(".pipeline.yml:11:") && text.contains("state `EXPLODED`"), text)
        XCTAssertTrue(text.contains(".pipeline.yml:12:") && text.contains("is not one address") && text.contains("\\u{a}Bcc"), text)
        XCTAssertTrue(text.contains(".pipeline.yml:14:") && text.contains("not an http:// or https:// URL"), text)
        XCTAssertTrue(text.contains(".pipeline.yml:16:") && text.contains("may not run a command on the server"), text)
        XCTAssertTrue(text.contains(".pipeline.yml:17:") && text.contains("notification `d` sends nowhere"), text)
        XCTAssertEqual(found.count, 5, text)
        XCTAssertFalse(NotificationDeclaration.isMailAddress("-oQ/tmp@x.y"))
        XCTAssertFalse(NotificationDeclaration.isMailAddress("a b@x.y"))
        XCTAssertTrue(NotificationDeclaration.isMailAddress("first.last+ci@example.co.uk"))
    }
}
