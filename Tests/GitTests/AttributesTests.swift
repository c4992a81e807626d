import Foundation
import Git
import XCTest

/// Our reading of gitattributes against git's own (`git check-attr`) on the same files and paths:
/// patterns by name and by path, `*`, `**`, classes, escapes, folders only, deeper files and
/// info/attributes winning, macros (custom, `binary`, not in sub-folders), quoted patterns.
final class AttributesTests: XCTestCase {
    static let root = """
        # comment
        [attr]shipped -export-ignore export-subst
        [attr]chain shipped text
        *.txt text
        *.TXT -text
        doc/*.md eol=crlf
        /top.c crlf
        **/gen/** export-ignore
        a/**/z.c export-subst
        [ab]?.c text=auto
        [!a-c]x.h eol=lf
        [[:digit:]]*.n binary
        \\#odd export-ignore
        build/ export-ignore
        *.bin binary text
        *.two text binary
        keep.* chain
        "with space.txt" eol=crlf
        !neg.txt export-ignore
        nested.txt text
        """
    static let nested = """
        [attr]local export-ignore
        *.txt -text eol=lf
        lib/ export-subst
        *.loc local
        deep.txt !text
        """
    static let info = "*.info eol=crlf\nnested.txt -text\n"

    static let paths: [(String, Bool)] = [
        ("a.txt", false), ("x/y/b.txt", false), ("c.TXT", false), ("doc/r.md", false), ("doc/s/r.md", false),
        ("top.c", false), ("x/top.c", false), ("gen/a", false), ("x/gen/y/z", false), ("gen", true), ("a/z.c", false),
        ("a/b/c/z.c", false), ("az.c", false), ("bq.c", false), ("cq.c", false), ("ax.h", false), ("dx.h", false),
        ("7up.n", false), ("#odd", false), ("build", true), ("build", false), ("x/build", true), ("f.bin", false),
        ("f.two", false), ("keep.me", false), ("with space.txt", false), ("neg.txt", false), ("nested.txt", false),
        ("sub/n.txt", false), ("sub/lib", true), ("sub/lib", false), ("sub/x.loc", false), ("sub/deep.txt", false),
        ("other/deep.txt", false), ("q.info", false), ("sub/nested.txt", false),
    ]

    func run(_ arguments: [String], in folder: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", folder] + arguments
        process.environment = ["HOME": folder, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, arguments.joined(separator: " "))
        return String(decoding: data, as: UTF8.self)
    }

    func testOurAttributesAreGitCheckAttrs() throws {
        let folder = NSTemporaryDirectory() + "attributes-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: folder) }
        _ = try run(["init", "-q", folder], in: "/")
        try FileManager.default.createDirectory(atPath: folder + "/sub", withIntermediateDirectories: true)
        try Self.root.write(toFile: folder + "/.gitattributes", atomically: true, encoding: .utf8)
        try Self.nested.write(toFile: folder + "/sub/.gitattributes", atomically: true, encoding: .utf8)
        try Self.info.write(toFile: folder + "/.git/info/attributes", atomically: true, encoding: .utf8)

        var stack = AttributeStack(info: AttributeFile(text: Self.info, base: "", topLevel: true))
        stack.push(AttributeFile(text: Self.root, base: "", topLevel: true))
        var inSub = stack
        inSub.push(AttributeFile(text: Self.nested, base: "sub", topLevel: false))
        let names = ["export-ignore", "export-subst", "text", "eol", "crlf"]
        let input = Self.paths.map { $0.0 + ($0.1 ? "/" : "") }.joined(separator: "\n") + "\n"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", folder, "check-attr", "--stdin"] + names
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let output = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        var theirs: [String: [String: String]] = [:]
        for line in output.split(separator: "\n") {
            // PATH: NAME: VALUE
            let parts = line.components(separatedBy: ": ")
            guard parts.count >= 3 else { continue }
            let value = parts.last!, name = parts[parts.count - 2], path = parts.dropLast(2).joined(separator: ": ")
            if value != "unspecified" { theirs[path, default: [:]][name] = value }
        }
        var mismatches: [String] = []
        for (path, isDirectory) in Self.paths {
            let shown = path + (isDirectory ? "/" : "")
            let from = path.hasPrefix("sub/") ? inSub : stack
            let ours = from.attributes(of: path, isDirectory: isDirectory, names: Set(names)).mapValues { value -> String in
                switch value {
                case .set: "set"
                case .unset: "unset"
                case .unspecified: "unspecified"
                case .value(let text): text
                }
            }
            let expected = theirs[shown] ?? [:]
            if ours != expected { mismatches.append("\(shown): ours \(ours.sorted { $0.key < $1.key }), git's \(expected.sorted { $0.key < $1.key })") }
        }
        XCTAssertEqual(mismatches, [], mismatches.joined(separator: "\n"))
        XCTAssertEqual(theirs["a.txt"]?["text"], "set", "git answered: \(output)")
    }

    func testWildmatch() {
        let yes: [(String, String)] = [("*.c", "a.c"), ("a/**/b", "a/b"), ("a/**/b", "a/x/y/b"), ("**/b", "b"), ("**/b", "x/b"),
                                       ("a/**", "a/x/y"), ("a?c", "abc"), ("[a-c]x", "bx"), ("[!a-c]x", "dx"), ("\\*x", "*x"),
                                       ("a**b", "axyb"), ("[]]", "]"), ("[[:upper:]]*", "Zed")]
        let no: [(String, String)] = [("*.c", "a/b.c"), ("a?c", "a/c"), ("a/**/b", "a/xb"), ("[a-c]x", "dx"), ("a**b", "a/b"),
                                      ("a/**", "a"), ("\\*x", "ax"), ("[abc", "a")]
        for (pattern, text) in yes { XCTAssertTrue(Wildmatch.matches(pattern, text), "\(pattern) ~ \(text)") }
        for (pattern, text) in no { XCTAssertFalse(Wildmatch.matches(pattern, text), "\(pattern) !~ \(text)") }
    }

    /// Line ends as git converts them on the way out: every lone LF for text, nothing for files
    /// that already have a CR or look binary under text=auto.
    func testLineEndConversion() {
        func convert(_ text: [UInt8], _ eol: EOLConversion) -> [UInt8]? {
            text.withUnsafeBytes { ExportRule(eol: eol).apply($0, format: nil) }
        }
        XCTAssertEqual(convert(Array("a\nb\r\nc\n".utf8), .toCRLF), Array("a\r\nb\r\nc\r\n".utf8))
        XCTAssertNil(convert(Array("a\nb\r\n".utf8), .toCRLFIfText), "a file with a CRLF is left alone under text=auto")
        XCTAssertNil(convert([0x61, 0, 0x0A], .toCRLFIfText), "a NUL: binary")
        XCTAssertEqual(convert([0x61, 0, 0x0A], .toCRLF), [0x61, 0, 0x0D, 0x0A], "text set: converted whatever it holds")
        XCTAssertNil(convert(Array("a\r\n".utf8), .toCRLF), "no lone LF")
        XCTAssertNil(convert([], .toCRLF))
        let settings = ExportSettings()
        XCTAssertEqual(settings.eolConversion(["text": .set]), .none, "text alone: LF here")
        XCTAssertEqual(settings.eolConversion(["text": .set, "eol": .value("crlf")]), .toCRLF)
        XCTAssertEqual(settings.eolConversion(["text": .unset, "eol": .value("crlf")]), .none, "-text wins over eol")
        XCTAssertEqual(settings.eolConversion(["eol": .value("crlf")]), .toCRLF, "eol alone sets text")
        XCTAssertEqual(settings.eolConversion(["text": .value("auto"), "eol": .value("crlf")]), .toCRLFIfText)
        XCTAssertEqual(settings.eolConversion(["crlf": .set]), .none)
        XCTAssertEqual(ExportSettings(autocrlf: .on).eolConversion([:]), .toCRLFIfText)
        XCTAssertEqual(ExportSettings(autocrlf: .on).eolConversion(["text": .set]), .toCRLF)
        XCTAssertEqual(ExportSettings(autocrlf: .input).eolConversion(["text": .set]), .none)
        XCTAssertEqual(ExportSettings(eolIsCRLF: true).eolConversion(["text": .value("auto")]), .toCRLFIfText)
    }
}
