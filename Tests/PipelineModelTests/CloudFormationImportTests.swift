import PipelineModel
import XCTest

/// CloudFormation templates as CodePipeline users keep them: parameters with defaults that
/// `!Ref`, `!Sub` and `!Join` read, and JSON that AWS would reject.
final class CloudFormationImportTests: XCTestCase {
    static let template = """
        AWSTemplateFormatVersion: "2010-09-09"
        Parameters:
          AppName: {Type: String, Default: shop}
          BuildProvider: {Type: String, Default: CodeBuild}
          Branch: {Type: String, Default: release}
          Role: {Type: String}
        Resources:
          Pipeline:
            Type: AWS::CodePipeline::Pipeline
            Properties:
              Name: !Ref AppName
              RoleArn: !Ref Role
              Stages:
                - Name: Source
                  Actions:
                    - Name: Checkout
                      ActionTypeId: {Category: Source, Owner: AWS, Provider: CodeCommit, Version: "1"}
                      Configuration: {RepositoryName: !Ref AppName, BranchName: !Ref Branch}
                      OutputArtifacts: [{Name: !Sub "${AppName}-source"}]
                - Name: Build
                  Actions:
                    - Name: Compile
                      ActionTypeId: {Category: Build, Owner: AWS, Provider: !Ref BuildProvider, Version: "1"}
                      Configuration:
                        ProjectName: !Join ["-", [!Ref AppName, build]]
                        Region: !Ref "AWS::Region"
                        Greeting: !Sub ["${Word} ${AppName} ${!Literal}", {Word: hello}]
                      InputArtifacts: [{Name: !Sub "${AppName}-source"}]
        """

    func testRefSubAndJoinOverParametersWithDefaultsAreEvaluated() throws {
        let declaration = try DefinitionParser.parse(Self.template, file: "template.yml", defaultName: "file")
        XCTAssertEqual(declaration.name, "shop", "the pipeline's name comes from the parameter's Default")
        let source = declaration.actions.first { $0.category == .source }!
        XCTAssertEqual(source.configuration["BranchName"], "release")
        XCTAssertEqual(declaration.sourceBranches, ["release"])
        XCTAssertEqual(source.outputArtifacts.map(\.name), ["shop-source"])
        let build = declaration.actions.first { $0.name == "Compile" }!
        XCTAssertEqual(build.provider, "Buildspec", "a provider from `!Ref` maps as a written one does (CodeBuild → Buildspec)")
        XCTAssertEqual(build.inputArtifacts, ["shop-source"])
        XCTAssertEqual(build.configuration["ProjectName"], "shop-build")
        XCTAssertEqual(build.configuration["Greeting"], "hello shop ${Literal}")
        XCTAssertEqual(build.configuration["Region"], "!Ref AWS::Region", "a pseudo parameter is known only to CloudFormation")

        let messages = declaration.warnings.map(\.message)
        XCTAssertTrue(messages.contains("`!Ref AppName` reads the template's parameter `AppName` at its Default: `shop`"), "\(messages)")
        XCTAssertTrue(messages.contains { $0.hasPrefix("CloudFormation function `!Ref AWS::Region` is not evaluated here") }, "\(messages)")
        let line = declaration.warnings.first { $0.message.hasPrefix("`!Ref BuildProvider`") }?.location.line
        XCTAssertEqual(line, 23, "the warning is at the Ref")
    }

    /// A parameter without a Default has no value here: the text is kept, with a warning.
    func testAParameterWithoutADefaultStaysText() throws {
        let text = Self.template.replacingOccurrences(of: "BuildProvider: {Type: String, Default: CodeBuild}", with: "BuildProvider: {Type: String}")
        let check = DefinitionParser.check(text, file: "template.yml", defaultName: "file")
        XCTAssertTrue(check.contains { $0.severity == .error && $0.message.contains("`!Ref BuildProvider`") }, "\(check)")
    }

    func testJSONThatIsNotJSONIsAnErrorAtItsPlace() {
        let good = #"{"pipeline": {"name": "a", "stages": [{"name": "S", "actions": []}]}}"#
        XCTAssertNil(StrictJSON.check(good, file: "p.json"))
        let cases: [(String, Int, Int, String)] = [
            ("{\n  \"pipeline\": {\n    \"name\": \"a\",\n  }\n}", 3, 16, "a trailing comma before `}`"),
            ("{\"stages\": [1, 2,]}", 1, 17, "a trailing comma before `]`"),
            ("{\n  // the pipeline\n  \"pipeline\": {}\n}", 2, 3, "a comment; JSON has none"),
            ("{\"a\": 1 /* x */}", 1, 9, "a comment; JSON has none"),
            ("{'a': 1}", 1, 2, "a key in single quotes"),
            ("{a: 1}", 1, 2, "an object key must be a string in double quotes"),
            ("{\"a\": 01}", 1, 8, "a number with a leading zero"),
            ("{\"a\": \"x\n\"}", 1, 9, "a string runs past the end of its line"),
            ("{\"a\": tru}", 1, 7, "unexpected `t` where a value should be"),
            ("{\"a\": 1} {}", 1, 10, "more text after the end of the JSON document"),
            ("{\"a\": [1}", 1, 9, "expected `,` or `]` after an item of an array"),
            ("{\"é\": \"\\x\"}", 1, 8, "`\\x` is not a JSON escape"),
        ]
        for (text, line, column, message) in cases {
            let found = StrictJSON.check(text, file: "p.json")
            XCTAssertEqual(found?.message, "not valid JSON: " + message, text)
            XCTAssertEqual(found.map { [$0.location.line, $0.location.column] }, [line, column], text)
        }
        // Through the parser, as lint and a push read a .json definition.
        let check = DefinitionParser.check("{\"pipeline\": {\"name\": \"a\", \"stages\": [],}}", file: ".pipelines/a.json", defaultName: "a")
        XCTAssertEqual(check.map(\.message), ["not valid JSON: a trailing comma before `}`"])
        XCTAssertEqual(check.first?.location, SourceLocation(file: ".pipelines/a.json", line: 1, column: 40))
        XCTAssertNotNil(check.first?.fix)
    }
}
