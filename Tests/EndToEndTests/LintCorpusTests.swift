import Foundation
import XCTest

/// `git pipeline lint` over the real-world corpus (../shared/corpus): the verdict its README's table
/// gives for every file, and for every rejected file an error that names the file and a line.
final class LintCorpusTests: XCTestCase {
    static var corpus: String {
        if let path = ProcessInfo.processInfo.environment["GIT_PIPELINE_CORPUS"] { return path }
        // Tests/EndToEndTests/ → the package → its sibling shared/corpus.
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return package.deletingLastPathComponent().appendingPathComponent("shared/corpus").path
    }

    /// `| buildspec/001 | accept | why |` rows of the README's table.
    func verdicts() throws -> [(prefix: String, accept: Bool)] {
        let readme = try String(contentsOfFile: Self.corpus + "/README.md", encoding: .utf8)
        return readme.split(separator: "\n").compactMap { line in
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2, cells[0].contains("/"), cells[1] == "accept" || cells[1] == "reject" else { return nil }
            return (cells[0], cells[1] == "accept")
        }
    }

    func testEveryCorpusFileGetsItsVerdict() throws {
        guard FileManager.default.fileExists(atPath: Self.corpus + "/README.md") else {
            throw XCTSkip("the corpus is not at \(Self.corpus); set GIT_PIPELINE_CORPUS")
        }
        let sandbox = try Sandbox(install: false)
        let table = try verdicts()
        XCTAssertGreaterThanOrEqual(table.count, 30, "the README's verdict table was not read")
        var files: [String] = []
        for folder in ["buildspec", "appspec", "pipeline"] {
            files += try FileManager.default.contentsOfDirectory(atPath: Self.corpus + "/" + folder).sorted().map { folder + "/" + $0 }
        }
        for (prefix, accept) in table {
            let matching = files.filter { $0.hasPrefix(prefix + "-") }
            XCTAssertEqual(matching.count, 1, "\(prefix) names one file")
            guard let file = matching.first else { continue }
            let result = try sandbox.run(Sandbox.binary, ["lint", file], in: Self.corpus, allowFailure: true)
            let errors = result.stdout.split(separator: "\n").filter { $0.contains(": error: ") }
            if accept {
                XCTAssertEqual(result.status, 0, "\(file) should be accepted:\n\(result.output)")
                XCTAssertTrue(errors.isEmpty, "\(file): \(errors)")
            } else {
                XCTAssertEqual(result.status, 1, "\(file) should be rejected:\n\(result.output)")
                // file:line:column: error: … with a real line number.
                let located = errors.contains { line in
                    let parts = line.split(separator: ":")
                    return parts.count > 3 && parts[0] == Substring(file) && (Int(parts[1]) ?? 0) >= 1
                }
                XCTAssertTrue(located, "\(file): no error with its line:\n\(result.output)")
            }
        }
        // The warnings the table promises for some accepted files.
        let warned: [(String, String)] = [("buildspec/009", "batch"), ("buildspec/031", "eb_codebuild_settings"),
                                          ("buildspec/007", "runtime-versions"), ("pipeline/001", "ElasticBeanstalk"),
                                          ("pipeline/009", "!Ref"), ("pipeline/015", "HasManualApproval"),
                                          ("appspec/013", "overwrite"), ("buildspec/035", "empty item")]
        for (prefix, word) in warned {
            guard let file = files.first(where: { $0.hasPrefix(prefix + "-") }) else { continue }
            let result = try sandbox.run(Sandbox.binary, ["lint", file], in: Self.corpus, allowFailure: true)
            XCTAssertTrue(result.stdout.split(separator: "\n").contains { $0.contains(": warning: ") && $0.contains(word) },
                          "\(file) should warn about \(word):\n\(result.output)")
        }
    }

    func testKindIsDetectedAndForced() throws {
        let sandbox = try Sandbox(install: false)
        try sandbox.write(["buildspec.yml": "version: 0.2\nphases:\n  build:\n    comands:\n      - make\n"])
        let result = try sandbox.run(Sandbox.binary, ["lint"], in: sandbox.clone, allowFailure: true)
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stdout.contains("buildspec.yml:4:5: error: unknown key `comands` in phase `build` — did you mean `commands`?"), result.output)
        let forced = try sandbox.run(Sandbox.binary, ["lint", "--kind", "appspec", "buildspec.yml"], in: sandbox.clone, allowFailure: true)
        XCTAssertTrue(forced.stdout.contains("appspec, "), forced.output)
    }
}
