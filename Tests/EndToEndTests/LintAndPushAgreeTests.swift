import Foundation
import XCTest

/// `lint` and a push read a definition the same way: one decoding, one parse, the same verdict and
/// the same first error, at the same place.
final class LintAndPushAgreeTests: XCTestCase {
    func testEveryBrokenFileGetsTheSameErrorFromLintAndFromAPush() throws {
        let box = try Sandbox()
        let cases: [(String, [UInt8])] = [
            ("empty", []),
            ("comments only", Array("# a pipeline, some day\n".utf8)),
            ("Latin-1", Array("name: caf".utf8) + [0xE9] + Array("\nstages: []\n".utf8)),
            ("a NUL byte", Array("name: app\nstages:\n  - name: B".utf8) + [0] + Array("uild\n".utf8)),
            ("errors out of file order", Array("stages:\n  - name: Build\n    actions:\n      - name: A\n        category: Build\n        provider: Commands\n        commands: [x]\n        inputArtifacts: [Nope]\n      - name: A\n        category: Bild\n        provider: Commands\n".utf8)),
            ("a cycle", Array(Fixture.pipeline(stages: Fixture.stage("Build",
                Fixture.commands("A", ["x"], more: ["inputArtifacts: [Y]", "outputArtifacts: [{name: X}]"]),
                Fixture.commands("B", ["x"], more: ["inputArtifacts: [X]", "outputArtifacts: [{name: Y}]"]))).utf8)),
        ]
        for (what, bytes) in cases {
            FileManager.default.createFile(atPath: box.clone + "/.pipeline.yml", contents: Data(bytes))
            let lint = try box.run(Sandbox.binary, ["lint", ".pipeline.yml"], in: box.clone, allowFailure: true)
            XCTAssertEqual(lint.status, 1, "\(what): lint must reject it:\n\(lint.output)")
            let lintError = try XCTUnwrap(lint.stdout.split(separator: "\n").first { $0.contains(": error: ") }.map(String.init), "\(what): \(lint.output)")
            let commit = try box.commit(what)
            try box.push()
            let note = try box.waitForNote(commit)
            XCTAssertTrue(note.contains(" Failed "), "\(what): the push must fail it too:\n\(note)")
            XCTAssertTrue(note.contains("  " + lintError + "\n"), "\(what): lint says\n\(lintError)\nthe note says\n\(note)")
            let noteFirst = note.split(separator: "\n").first { $0.contains(": error: ") }?.trimmingCharacters(in: .whitespaces)
            XCTAssertEqual(noteFirst, lintError, "\(what): the note's first error is not lint's first")
            XCTAssertFalse(note.contains("\u{FFFD}"), "\(what): no replacement characters: \(note)")
        }
        let cycle = try box.run(Sandbox.binary, ["lint", ".pipeline.yml"], in: box.clone, allowFailure: true).stdout
        XCTAssertTrue(cycle.contains("`Y` is produced by `B`"), cycle)
        XCTAssertFalse(cycle.contains("did you mean `Y`"), cycle)
    }
}
