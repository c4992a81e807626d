import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import PipelineModel

/// Test results of an action, from its buildspec's JUnit XML reports.
public struct TestReport: Codable, Sendable, Equatable {
    public struct Case: Codable, Sendable, Equatable {
        public var name: String
        public var message: String?
    }

    public var total = 0
    public var failed = 0
    public var skipped = 0
    /// The failing (and erroring) test cases, as `classname.name`.
    public var failures: [Case] = []

    public var passed: Int { total - failed - skipped }
    /// `tests N passed, M failed` (and skipped when there are some), as the note shows it.
    public var summary: String {
        "tests \(passed) passed, \(failed) failed" + (skipped > 0 ? ", \(skipped) skipped" : "")
    }
}

/// Reads `reports` groups: JUnit XML (JUNITXML, CodeBuild's default) is counted; other formats are
/// kept as files only (lint warns).
enum TestReports {
    static func collect(_ groups: [ReportGroup], source: String, mask: SecretMask = SecretMask([]), log: (String) -> Void) -> TestReport? {
        guard !groups.isEmpty else { return nil }
        var report = TestReport()
        var files = 0
        for group in groups where group.fileFormat == "JUNITXML" {
            // Reports come from inside the source, never through a link out of it.
            guard let base = Confinement.path(group.baseDirectory ?? "", in: source) else {
                log("[Container] report group \(group.name): base-directory \(group.baseDirectory ?? "") leaves the source folder (absolute, .., or a link out); not read")
                continue
            }
            let globs = group.files.map { Glob($0 == "**/*" ? "**" : ($0.hasPrefix("./") ? String($0.dropFirst(2)) : $0)) }
            guard let walker = FileManager.default.enumerator(atPath: base) else {
                log("[Container] report group \(group.name): \(base) does not exist")
                continue
            }
            while let relative = walker.nextObject() as? String {
                guard globs.contains(where: { $0.matches(relative) }) else { continue }
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: base + "/" + relative, isDirectory: &isFolder), !isFolder.boolValue else { continue }
                guard let inside = Confinement.path(relative, in: base, mustExist: true) else {
                    log("[Container] report group \(group.name): \(relative) is a link out of the source; not read")
                    continue
                }
                guard let data = FileManager.default.contents(atPath: inside) else { continue }
                let reader = JUnitReader(mask: mask)
                let parser = XMLParser(data: data)
                parser.delegate = reader
                guard parser.parse() else {
                    log("[Container] report group \(group.name): \(relative) is not JUnit XML (\(parser.parserError.map { "\($0)" } ?? "unreadable")); skipped")
                    continue
                }
                files += 1
                report.total += reader.report.total
                report.failed += reader.report.failed
                report.skipped += reader.report.skipped
                report.failures += reader.report.failures
            }
        }
        guard files > 0 else {
            log("[Container] reports: no JUnit XML file found")
            return nil
        }
        log("[Container] reports: \(files) JUnit file\(files == 1 ? "" : "s"), \(report.summary)")
        for failure in report.failures { log("[Container]   failed: \(failure.name)" + (failure.message.map { " — \($0)" } ?? "")) }
        return report
    }
}

/// Counts `<testcase>` elements; one with `<failure>` or `<error>` failed, one with `<skipped>` was skipped.
final class JUnitReader: NSObject, XMLParserDelegate {
    var report = TestReport()
    /// Applied before a message is cut to length, so no part of a secret is left at the cut.
    let mask: SecretMask

    init(mask: SecretMask) { self.mask = mask }

    private var current: (name: String, failed: Bool, skipped: Bool, message: String?)?

    func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        switch element {
        case "testcase":
            let name = [attributes["classname"], attributes["name"]].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ".")
            current = (name.isEmpty ? "unnamed test" : mask.apply(name), false, false, nil)
        case "failure", "error":
            current?.failed = true
            if current?.message == nil { current?.message = attributes["message"].map { String(mask.apply($0).prefix(200)) } }
        case "skipped":
            current?.skipped = true
        default: break
        }
    }

    func parser(_ parser: XMLParser, didEndElement element: String, namespaceURI: String?, qualifiedName: String?) {
        guard element == "testcase", let test = current else { return }
        report.total += 1
        if test.failed {
            report.failed += 1
            report.failures.append(.init(name: test.name, message: test.message))
        } else if test.skipped {
            report.skipped += 1
        }
        current = nil
    }
}
