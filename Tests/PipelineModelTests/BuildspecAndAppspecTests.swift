import PipelineModel
import XCTest

final class BuildspecAndAppspecTests: XCTestCase {
    func testPhasesInCodeBuildOrderWithBlocksAndFinally() throws {
        let spec = try BuildspecParser.parse("""
            version: 0.2
            phases:
              post_build:
                commands: [echo post]
              build:
                on-failure: CONTINUE
                commands:
                  - |
                    for x in a b; do
                      echo $x
                    done
                finally:
                  - echo cleanup
            """, file: "buildspec.yml")
        XCTAssertEqual(spec.phases.map(\.name), ["build", "post_build"])
        XCTAssertEqual(spec.phases[0].commands, ["for x in a b; do\n  echo $x\ndone\n"])
        XCTAssertEqual(spec.phases[0].finally, ["echo cleanup"])
        XCTAssertTrue(spec.phases[0].continueOnFailure)
        XCTAssertTrue(spec.sharesShell)
    }

    func testVersion01BareScalarCommandAndLegacyVariables() throws {
        let spec = try BuildspecParser.parse("""
            version: 0.1
            environment_variables:
              plaintext:
                NAME: value
            phases:
              build:
                commands: make all
            """, file: "buildspec.yml")
        XCTAssertFalse(spec.sharesShell)
        XCTAssertEqual(spec.phases[0].commands, ["make all"])
        XCTAssertEqual(spec.variables.map { "\($0.name)=\($0.value)" }, ["NAME=value"])
    }

    func testErrorsSayWhereAndHowToFix() {
        let findings = BuildspecParser.check("""
            version: 0.2
            phases:
              biuld:
                commands: [make]
              install:
                comands: [x]
            """, file: "b.yml")
        XCTAssertTrue(findings.contains { $0.description == "b.yml:3:3: error: unknown phase `biuld` — did you mean `build`?" }, "\(findings)")
        XCTAssertTrue(findings.contains { $0.description == "b.yml:6:5: error: unknown key `comands` in phase `install` — did you mean `commands`?" }, "\(findings)")
        let batchOnly = BuildspecParser.check("version: 0.2\nbatch:\n  build-list: []\n", file: "b.yml")
        XCTAssertEqual(batchOnly.filter { $0.severity == .error }.map(\.location.line), [2])
    }

    func testUnclosedQuoteWarnsOfAYAMLComment() {
        let findings = BuildspecParser.check("""
            version: 0.2
            phases:
              build:
                commands:
                  - echo "tag #{Vars.TAG}"
            """, file: "b.yml")
        XCTAssertTrue(findings.contains { $0.severity == .warning && $0.location.line == 5 && $0.message.contains("unclosed quote") }, "\(findings)")
    }

    func testAppspecHooksAndAStrayHookOutsideHooks() throws {
        let spec = try AppspecParser.parse("""
            version: 0.0
            os: linux
            files:
              - source: /
                destination: /srv/app
            hooks:
              ValidateService:
                - location: check.sh
                  timeout: 30
            """, file: "appspec.yml")
        XCTAssertEqual(spec.hooks["ValidateService"]?.map { "\($0.location) \($0.timeoutSeconds)" }, ["check.sh 30"])
        let stray = AppspecParser.check("version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: a.sh\n\\ AfterInstall:\n    - location: b.sh\n", file: "a.yml")
        XCTAssertEqual(stray.filter { $0.severity == .error }.map(\.location.line), [6], "\(stray)")
    }

    func testAnAppspecDestinationThatClimbsOutIsAnError() {
        let findings = AppspecParser.check("version: 0.0\nos: linux\nfiles:\n  - source: /\n    destination: /srv/app/../../etc\n", file: "appspec.yml")
        let error = findings.first { $0.severity == .error }
        XCTAssertEqual(error?.location.line, 5, "\(findings)")
        XCTAssertTrue(error?.message.contains("climbs out of the deploy target") ?? false, "\(findings)")
    }
}
