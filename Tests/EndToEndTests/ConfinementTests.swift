import Foundation
import XCTest

/// Paths from a definition stay inside their root: a buildspec that is a link out, an artifact
/// base-directory that climbs out, a cache path through a link — refused, and nothing outside is
/// read, created, changed or deleted.
final class ConfinementTests: XCTestCase {
    func testLinksAndClimbsOutOfTheWorkspaceAreRefused() throws {
        let box = try Sandbox()
        let outside = box.root + "/outside"
        try FileManager.default.createDirectory(atPath: outside + "/dir", withIntermediateDirectories: true)
        try "version: 0.2\nphases:\n  build:\n    commands: [\"echo SECRET-BUILDSPEC-RAN\"]\n".write(toFile: outside + "/secret.yml", atomically: true, encoding: .utf8)
        try "keep me\n".write(toFile: outside + "/dir/file", atomically: true, encoding: .utf8)
        func listing() throws -> String { try box.run("find", [outside, "-printf", "%p %s %T@\\n"]).stdout }
        let before = try listing()
        let definition = """
            stages:
              - name: Build
                actions:
                  - name: Linked
                    category: Build
                    provider: Buildspec
                    configuration:
                      BuildSpec: linked.yml
                  - name: Climbs
                    category: Build
                    provider: Buildspec
                    configuration:
                      BuildSpec: climbs.yml
                    outputArtifacts: [Out]
                  - name: Cached
                    category: Build
                    provider: Buildspec
                    configuration:
                      BuildSpec: cached.yml
            """
        try box.write([
            ".pipeline.yml": definition,
            "climbs.yml": "version: 0.2\nphases:\n  build:\n    commands: [\"true\"]\nartifacts:\n  files: ['**/*']\n  base-directory: ../../../..\n",
            "cached.yml": "version: 0.2\nphases:\n  build:\n    commands: [\"true\"]\ncache:\n  paths: ['escape/dir/**/*']\n",
        ])
        try FileManager.default.createSymbolicLink(atPath: box.clone + "/linked.yml", withDestinationPath: outside + "/secret.yml")
        try FileManager.default.createSymbolicLink(atPath: box.clone + "/escape", withDestinationPath: outside)
        let commit = try box.commit("links out")
        try box.push()
        let note = try box.waitForNote(commit)
        XCTAssertTrue(note.hasPrefix("server #1 Failed"), note)
        XCTAssertTrue(note.contains("Linked: linked.yml: the buildspec is a link out of the source"), note)
        XCTAssertTrue(note.contains("Climbs: output artifact Out: base-directory ../../../.. leaves the source folder"), note)
        let logs = try box.pipeline(["logs", "server#1"]).stdout
        XCTAssertFalse(logs.contains("SECRET-BUILDSPEC-RAN"), logs)
        XCTAssertTrue(logs.contains("cache: escape/dir leads out of the workspace (a link); not saved"), logs)
        // Twice: the second run would restore the cache through the link.
        try box.pipeline(["start"])
        _ = try box.waitForExecutions(2)
        XCTAssertTrue(try box.pipeline(["logs", "server#2", "--action", "Cached"]).stdout.contains("not saved"))
        XCTAssertEqual(try listing(), before, "something outside the workspace changed")
    }

    func testAnAppspecThatLinksOutOfTheRevisionIsNotRead() throws {
        let box = try Sandbox()
        let outside = box.root + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try "version: 0.0\nos: linux\nfiles:\n  - source: /\n    destination: /srv/app\nhooks:\n  ApplicationStart:\n    - location: /bin/true\n"
            .write(toFile: outside + "/appspec.yml", atomically: true, encoding: .utf8)
        try box.write([".pipeline.yml": Fixture.pipeline(stages: """
            - name: Deploy
              actions:
                - name: Install
                  category: Deploy
                  provider: Directory
            """)])
        try FileManager.default.createSymbolicLink(atPath: box.clone + "/appspec.yml", withDestinationPath: outside + "/appspec.yml")
        let commit = try box.commit("linked appspec")
        try box.push()
        let note = try box.waitForNote(commit)
        XCTAssertTrue(note.hasPrefix("server #1 Failed"), note)
        XCTAssertTrue(note.contains("appspec.yml is a link out of the revision"), note)
    }

    func testADefinitionLinkIsFollowedInsideTheTreeOnly() throws {
        let box = try Sandbox()
        try box.write(["ci/pipeline.yml": Sandbox.quickPipeline("echo through the link")])
        try FileManager.default.createDirectory(atPath: box.clone + "/.pipelines", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: box.clone + "/.pipeline.yml", withDestinationPath: "ci/pipeline.yml")
        try FileManager.default.createSymbolicLink(atPath: box.clone + "/.pipelines/evil.yml", withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(atPath: box.clone + "/.pipelines/up.yml", withDestinationPath: "../../outside.yml")
        let commit = try box.commit("links")
        let push = try box.pushAnswered()
        XCTAssertTrue(push.stderr.contains(".pipelines/evil.yml:1:1: error: .pipelines/evil.yml is a symbolic link to `/etc/passwd`, which leaves the repository"),
                      push.stderr)
        XCTAssertTrue(push.stderr.contains("which leaves the repository"), push.stderr)
        let note = try box.waitForNote(commit, blocks: 3)
        XCTAssertTrue(note.contains("server #1 Succeeded"), "the in-tree link is read: \(note)")
        XCTAssertTrue(note.contains("evil #1 Failed") && note.contains("up #1 Failed"), note)
        XCTAssertFalse(note.contains("root:x:0:0"), "the link's target was read: \(note)")
    }

    /// A deployment's hooks run one after the other, each from a script the runner writes into the
    /// action's metadata folder, which the hooks before it may write: a link left there under the
    /// next script's name must not make the runner write through it.
    func testALinkUnderTheNextScriptsNameIsNotWrittenThrough() throws {
        let box = try Sandbox()
        let victim = box.root + "/victim.txt"
        try "intact\n".write(toFile: victim, atomically: true, encoding: .utf8)
        // The first hook finds its script (its parent's last argument) and links the next one's name.
        let plant = "#!/bin/bash\ns=$(tr '\\0' '\\n' < /proc/$PPID/cmdline | tail -n 1)\nln -s '\(victim)' \"${s%.0.sh}.1.sh\" && echo planted\n"
        let appspec = "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: plant.sh\n    - location: second.sh\n"
        let definition = Fixture.pipeline(stages: Fixture.stage("Deploy", """
            - name: Site
              category: Deploy
              provider: Directory
              inputArtifacts: [SourceArtifact]
              configuration:
                Target: \(box.root)/site
            """))
        let commit = try box.commit("plant", files: [".pipeline.yml": definition, "appspec.yml": appspec, "plant.sh": plant,
                                                     "second.sh": "#!/bin/bash\necho second ran\n"])
        try box.push()
        let note = try box.waitForNote(commit)
        let log = try box.pipeline(["logs", "server#1", "--action", "Site"]).stdout
        XCTAssertTrue(log.contains("planted"), "the first hook must have left its link: \(log)")
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "intact\n", "the runner wrote through the link")
        XCTAssertTrue(note.hasPrefix("server #1 Succeeded") && log.contains("second ran"), note + log)
    }
}
