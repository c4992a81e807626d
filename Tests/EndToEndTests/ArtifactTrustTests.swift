import Foundation
import XCTest

/// The runner trusts nothing it stored where an action could reach: a stored artifact an action
/// changed is refused (by its sha256) and never crashes the runner; the same commit runs again.
final class ArtifactTrustTests: XCTestCase {
    func testAStoredZipAnActionOverwroteIsRefusedAndTheRunnerLives() throws {
        let box = try Sandbox()
        try box.git(["config", "pipeline.runnerIdleSeconds", "5"], in: box.server)
        // The sandbox hides the store from actions; without it (pipeline.sandbox=false) an action
        // can reach the stored zips, and the runner must still trust nothing it finds there.
        try box.git(["config", "pipeline.sandbox", "false"], in: box.server)
        // #11's crafted record: a zip64 locator pointing at 0xFFFFFFFFFFFFFFF0 (it trapped the old reader).
        let crafted = "printf 'PK\\006\\007\\000\\000\\000\\000\\360\\377\\377\\377\\377\\377\\377\\377\\001\\000\\000\\000PK\\005\\006\\000\\000\\000\\000\\001\\000\\001\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000'"
        // The build's output is stored, then spoiled, then used. (The SourceArtifact's workspace is
        // written from the repository, not from its zip; its spoiled zip is made anew below.)
        let definition = Fixture.pipeline(stages: Fixture.stage("Build", Fixture.commands("Make", ["echo built > out.txt"],
                                                                                           more: ["outputArtifacts:", "  - name: Out", "    files: [out.txt]"])),
                                          Fixture.stage("Spoil", Fixture.commands("Spoil", [
            "for zip in \"$PIPELINE_REPOSITORY\"/pipeline/artifacts/sha256/*.zip; do \(crafted) > \"$zip\"; done",
        ])), Fixture.stage("Test", Fixture.commands("Use", ["ls"], more: ["inputArtifacts: [Out]"])))
        let commit = try box.commit("spoil", files: [".pipeline.yml": definition])
        try box.push()
        let note = try box.waitForNote(commit)
        XCTAssertTrue(note.hasPrefix("server #1 Failed"), note)
        XCTAssertTrue(note.contains("the stored artifact was changed"), note)
        // The runner is alive and runs the same commit again: the source zip is made anew.
        try box.pipeline(["start", "--revision", commit])
        let second = try box.waitForExecutions(2)
        XCTAssertEqual(second.count, 2)
        let log = try box.pipeline(["logs", "server#2", "--action", "Source"]).stdout
        XCTAssertTrue(log.contains("wrote sha256:"), "the changed zip must not be reused: \(log)")
        let runnerLog = try box.runner.log()
        XCTAssertFalse(runnerLog.contains("Fatal error"), runnerLog)
    }
}
