import Foundation
import Git
import XCTest

/// Real libgit2 on a repository made in a temp dir; `git` itself checks what we wrote.
final class NotesFanoutTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "notes-test-" + UUID().uuidString
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "init", "-q", "--bare", folder]
        try process.run()
        process.waitUntilExit()
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    func gitOutput(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", folder] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    func testNotesGrowFanoutAndStayReadable() throws {
        let repository = try Repository(path: folder)
        let author = Signature(name: "t", email: "t@example.com", time: 1_700_000_000)
        var objects: [ObjectID] = []
        for i in 0..<300 { objects.append(try repository.createBlob(Array("object \(i)".utf8))) }
        // A few notes stay flat: git's heuristic splits only when every first digit has two notes.
        try repository.updateNotes("refs/notes/t", objects.prefix(5).map { ($0, "note of \($0.hex)") }, message: "five", author: author)
        XCTAssertTrue(try gitOutput(["ls-tree", "refs/notes/t"]).split(separator: "\n").allSatisfy { $0.contains(" blob ") })
        for object in objects.dropFirst(5) {
            try repository.updateNotes("refs/notes/t", [(object, "note of \(object.hex)")], message: "one", author: author)
        }
        let top = try gitOutput(["ls-tree", "refs/notes/t"]).split(separator: "\n")
        XCTAssertTrue(top.allSatisfy { $0.contains(" tree ") }, "expected fanout, got \(top.prefix(3))")
        XCTAssertEqual(try gitOutput(["notes", "--ref=t", "list"]).split(separator: "\n").count, 300)
        for object in objects.shuffled().prefix(20) {
            XCTAssertEqual(try repository.note("refs/notes/t", on: object), "note of \(object.hex)")
            XCTAssertEqual(try gitOutput(["notes", "--ref=t", "show", object.hex]), "note of \(object.hex)")
        }
        // Replacing and removing go through the fanout too.
        try repository.updateNotes("refs/notes/t", [(objects[7], "replaced"), (objects[8], nil)], message: "edit", author: author)
        XCTAssertEqual(try repository.note("refs/notes/t", on: objects[7]), "replaced")
        XCTAssertNil(try repository.note("refs/notes/t", on: objects[8]))
        XCTAssertEqual(try gitOutput(["notes", "--ref=t", "list"]).split(separator: "\n").count, 299)
    }

    func testConcurrentWritersLoseNothing() throws {
        let folder = self.folder
        let objects = try (0..<200).map { i in try Repository(path: folder).createBlob(Array("c\(i)".utf8)) }
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            let repository = try! Repository(path: folder)
            let author = Signature(name: "w\(worker)", email: "w@example.com", time: 1_700_000_000)
            for (index, object) in objects.enumerated() where index % 4 == worker {
                try! repository.updateNotes("refs/notes/c", [(object, "by \(worker)")], message: "w", author: author)
            }
        }
        XCTAssertEqual(try gitOutput(["notes", "--ref=c", "list"]).split(separator: "\n").count, 200)
    }
}
