import Foundation
import XCTest

/// A small Python project built and unit-tested by its own buildspec, as CodeBuild would run it.
final class BuildspecTests: XCTestCase {
    static let definition = """
        stages:
          - name: Build
            actions:
              - name: Build
                category: Build
                provider: CodeBuild
                namespace: BuildVariables
                outputArtifacts: [BuildOutput, TestReports]
          - name: Check
            actions:
              - name: Use
                category: Build
                provider: Commands
                inputArtifacts: [BuildOutput]
                commands:
                  - echo "tag=#{BuildVariables.BUILD_TAG}"
                  - cat out/pwd.txt out/post.txt
        """

    static let buildspec = """
        version: 0.2
        env:
          variables:
            GREETING: hello
          secrets-manager:
            DB_PASSWORD: prod/db:password
          exported-variables:
            - BUILD_TAG
        phases:
          install:
            commands:
              - mkdir -p out reports .runs
              - echo run >> .runs/count && echo "cache runs=$(wc -l < .runs/count)"
          pre_build:
            commands:
              - cd app
              - echo "$GREETING, the password is $DB_PASSWORD"
          build:
            commands:
              - pwd > ../out/pwd.txt
              - export BUILD_TAG=v-$CODEBUILD_BUILD_NUMBER
              - |
                python3 -m pytest -q -p no:cacheprovider \\
                  --junitxml=../reports/junit.xml
          post_build:
            commands:
              - echo "post_build succeeding=$CODEBUILD_BUILD_SUCCEEDING" | tee ../out/post.txt
            finally:
              - echo "post_build finally ran"
        reports:
          unit:
            files: ['junit.xml']
            base-directory: reports
        cache:
          paths: ['.runs/**/*']
        artifacts:
          files: ['out/**/*']
          secondary-artifacts:
            TestReports:
              base-directory: reports
              files: ['**/*.xml']
              discard-paths: yes
        """

    static let code = "def add(a, b):\n    return a + b\n\ndef sub(a, b):\n    return a - b\n"
    static let tests = """
        from calc import add, sub

        def test_add():
            assert add(2, 3) == 5

        def test_sub():
            assert sub(5, 3) == 2
        """

    func testPythonProjectBuiltAndTestedByItsBuildspec() throws {
        let box = try Sandbox()
        try box.pipeline(["secret", "set", "prod/db", "--value", #"{"password": "s3cr3t-Pa55"}"#])
        let first = try box.commit("python project", files: [
            ".pipeline.yml": Self.definition, "buildspec.yml": Self.buildspec,
            "app/calc.py": Self.code, "app/test_calc.py": Self.tests,
        ])
        try box.push()
        let note = try box.waitForNote(first)
        XCTAssertTrue(note.contains(" Succeeded "), note)
        XCTAssertTrue(note.contains("tests 2 passed, 0 failed"), note)

        // The secret is masked in the build's log; cd from pre_build held in build; the exported
        // variable reached the next action; post_build saw a succeeding build.
        let build = try box.pipeline(["logs", "server#1", "--action", "Build"]).stdout
        XCTAssertTrue(build.contains("hello, the password is ***"), build)
        XCTAssertFalse(build.contains("s3cr3t-Pa55"), build)
        XCTAssertTrue(build.contains("Running command cd app"), build)
        XCTAssertTrue(build.contains("Phase complete: BUILD State: SUCCEEDED"), build)
        let use = try box.pipeline(["logs", "server#1", "--action", "Use"]).stdout
        XCTAssertTrue(use.contains("tag=v-1"), use)
        XCTAssertTrue(use.range(of: #"/app\n"#, options: .regularExpression) != nil, use)
        XCTAssertTrue(use.contains("post_build succeeding=1"), use)
        XCTAssertTrue(build.contains("cache runs=1"), build)
        let artifacts = try box.pipeline(["show", "server#1", "--json"]).stdout
        XCTAssertTrue(artifacts.contains("\"TestReports\""), artifacts)

        // A failing test fails the build; post_build still runs, told the build is failing; the
        // note and `show` name the failing test.
        let second = try box.commit("break sub", files: ["app/calc.py": Self.code.replacingOccurrences(of: "a - b", with: "a + b")])
        try box.push()
        let failed = try box.waitForNote(second)
        XCTAssertTrue(failed.contains(" Failed "), failed)
        XCTAssertTrue(failed.contains("test_calc.test_sub"), failed)
        XCTAssertTrue(failed.contains("tests 1 passed, 1 failed"), failed)
        let log = try box.pipeline(["logs", "server#2", "--action", "Build"]).stdout
        XCTAssertTrue(log.contains("Phase complete: BUILD State: FAILED"), log)
        XCTAssertTrue(log.contains("post_build succeeding=0"), log)
        XCTAssertTrue(log.contains("post_build finally ran"), log)
        XCTAssertTrue(log.contains("cache: restored .runs"), log)
        XCTAssertTrue(log.contains("cache runs=2"), "the cache kept .runs from the first build:\n\(log)")
        let shown = try box.pipeline(["show", "server#2"]).stdout
        XCTAssertTrue(shown.contains("failed: test_calc.test_sub"), shown)
    }

    func testInstallFailureSkipsToFinalizingAndVersion01RunsEachCommandAlone() throws {
        let box = try Sandbox()
        let definition = """
            stages:
              - name: Build
                actions:
                  - name: Old
                    category: Build
                    provider: Buildspec
                    configuration:
                      BuildSpec: legacy.yml
                  - name: Broken
                    category: Test
                    provider: Buildspec
                    configuration:
                      BuildSpec: broken.yml
            """
        let legacy = """
            version: 0.1
            environment_variables:
              plaintext:
                NAME: legacy
            phases:
              build:
                commands:
                  - cd /usr
                  - echo "$NAME in $(pwd)"
            """
        let broken = """
            version: 0.2
            phases:
              install:
                commands:
                  - "false"
              build:
                commands:
                  - echo build-should-not-run
              post_build:
                commands:
                  - echo post-should-not-run
            """
        let commit = try box.commit("legacy", files: [".pipeline.yml": definition, "legacy.yml": legacy, "broken.yml": broken])
        try box.push()
        let note = try box.waitForNote(commit)
        XCTAssertTrue(note.contains(" Failed "), note)
        let old = try box.pipeline(["logs", "server#1", "--action", "Old"]).stdout
        XCTAssertTrue(old.contains("legacy in \(box.server)/pipeline/work/"), old)
        XCTAssertFalse(old.contains("legacy in /usr"), "0.1 runs each command in a fresh shell:\n\(old)")
        let log = try box.pipeline(["logs", "server#1", "--action", "Broken"]).stdout
        XCTAssertTrue(log.contains("Phase complete: INSTALL State: FAILED"), log)
        XCTAssertFalse(log.contains("build-should-not-run\n"), log)
        XCTAssertFalse(log.contains("post-should-not-run\n"), log)
        XCTAssertTrue(note.contains("command `false` failed"), note)
    }

    /// `exit 1` in a 0.2 command ends that command, not the build: the rest of the phase is
    /// skipped, its `finally` runs, post_build runs told the build is failing, and the exported
    /// variables are still exported, with what the commands set before the exit (cd, variables,
    /// functions). A second `exit`, and a `return`, are each their command's status too.
    func testExitInACommandFailsThatCommandAndTheBuildGoesOn() throws {
        let box = try Sandbox()
        let definition = """
            stages:
              - name: Build
                actions:
                  - name: Build
                    category: Build
                    provider: CodeBuild
                    configuration:
                      BuildSpec: exits.yml
            """
        let buildspec = """
            version: 0.2
            env:
              exported-variables: [STAGE_REACHED]
            phases:
              install:
                commands:
                  - mkdir -p sub && cd sub
                  - greet() { echo "hello from $1"; }
                  - "return 0"
              build:
                commands:
                  - export STAGE_REACHED=build
                  - if [ -n "$CODEBUILD_BUILD_ID" ]; then exit 3; fi
                  - echo build-rest-should-not-run
                finally:
                  - greet "finally in $(basename "$PWD")"
              post_build:
                commands:
                  - echo "post_build succeeding=$CODEBUILD_BUILD_SUCCEEDING"
                  - export STAGE_REACHED=post_build
                  - exit 4
                  - echo post-rest-should-not-run
                finally:
                  - "return 6"
                  - echo second-finally-should-not-run
            """
        let commit = try box.commit("exits", files: [".pipeline.yml": definition, "exits.yml": buildspec])
        try box.push()
        let note = try box.waitForNote(commit)
        XCTAssertTrue(note.contains(" Failed "), note)
        XCTAssertTrue(note.contains("phase BUILD failed"), note)
        XCTAssertTrue(note.contains("exit 3"), "the note names the command that exited:\n\(note)")
        let log = try box.pipeline(["logs", "server#1", "--action", "Build"]).stdout
        XCTAssertTrue(log.contains("Command did not exit successfully if [ -n \"$CODEBUILD_BUILD_ID\" ]; then exit 3; fi exit status 3"), log)
        XCTAssertFalse(log.contains("build-rest-should-not-run\n"), log)
        XCTAssertTrue(log.contains("hello from finally in sub"), "finally ran, in the folder and with the function install left:\n\(log)")
        XCTAssertTrue(log.contains("Phase complete: BUILD State: FAILED"), log)
        XCTAssertTrue(log.contains("post_build succeeding=0"), log)
        XCTAssertTrue(log.contains("exit status 4"), log)
        XCTAssertFalse(log.contains("post-rest-should-not-run\n"), log)
        XCTAssertTrue(log.contains("Command did not exit successfully return 6 exit status 6"), log)
        XCTAssertFalse(log.contains("second-finally-should-not-run\n"), log)
        XCTAssertTrue(log.contains("Phase complete: POST_BUILD State: FAILED"), log)
        XCTAssertTrue(log.contains("Entering phase FINALIZING"), log)
        let shown = try box.pipeline(["show", "server#1", "--json"]).stdout
        XCTAssertTrue(shown.contains("\"STAGE_REACHED\" : \"post_build\""), "the exported variable holds what post_build set before its exit:\n\(shown)")
    }

    /// `OutputArtifactFormat: CODEBUILD_CLONE_REF` gives the build a clone with its history, on the
    /// pushed branch at the execution's commit, tracking origin; its object files are copies, so a
    /// build that scribbles over them leaves the server's repository whole, and the clone holds
    /// nothing of the server's `pipeline/` folder.
    func testCloneRefGivesTheBuildAFullCloneOfItsBranch() throws {
        let box = try Sandbox()
        let definition = """
            stages:
              - name: Source
                actions:
                  - name: Checkout
                    category: Source
                    provider: CodeCommit
                    outputArtifacts: [Clone]
                    configuration:
                      OutputArtifactFormat: CODEBUILD_CLONE_REF
              - name: Build
                actions:
                  - name: Describe
                    category: Build
                    provider: CodeBuild
                    inputArtifacts: [Clone]
                    configuration:
                      BuildSpec: |
                        version: 0.2
                        phases:
                          build:
                            commands:
                              - echo "head=$(git rev-parse HEAD)"
                              - echo "branch=$(git rev-parse --abbrev-ref HEAD)"
                              - echo "upstream=$(git rev-parse --abbrev-ref @{u})"
                              - echo "commits=$(git rev-list --count HEAD)"
                              - echo "dirty=$(git status --porcelain | wc -l)"
                              - echo "described=$(git describe --tags)"
                              - test ! -e .git/pipeline && echo "no-pipeline-folder"
                              - chmod -R u+w .git/objects && find .git/objects -type f -exec sh -c 'printf x > "$1"' _ {} \\;
            """
        try box.commit("one", files: ["a.txt": "1\n"])
        try box.git(["tag", "-a", "v1", "-m", "v1"])
        try box.commit("two", files: ["a.txt": "2\n"])
        let head = try box.commit("three", files: [".pipeline.yml": definition])
        try box.push(["HEAD:refs/heads/feature/x", "refs/tags/v1"])
        let note = try box.waitForNote(head)
        XCTAssertTrue(note.contains(" Succeeded "), note)
        let log = try box.pipeline(["logs", "server#1", "--action", "Describe"]).stdout
        XCTAssertTrue(log.contains("cloned with its history (CODEBUILD_CLONE_REF), on branch feature/x"), log)
        XCTAssertTrue(log.contains("head=\(head)\n"), log)
        XCTAssertTrue(log.contains("branch=feature/x\n"), log)
        XCTAssertTrue(log.contains("upstream=origin/feature/x\n"), log)
        XCTAssertTrue(log.contains("commits=3\n"), log)
        XCTAssertTrue(log.contains("dirty=0\n"), log)
        XCTAssertTrue(log.contains("described=v1-2-g"), log)
        XCTAssertTrue(log.contains("no-pipeline-folder\n"), log)
        let fsck = try box.run("git", ["fsck", "--full", "--no-dangling"], in: box.server, allowFailure: true)
        XCTAssertEqual(fsck.status, 0, "the build's writes reached the server's objects:\n\(fsck.output)")
        let lint = try box.pipeline(["lint", box.clone + "/.pipeline.yml"]).stdout
        XCTAssertFalse(lint.contains("CODE_ZIP here"), lint)
    }
}
