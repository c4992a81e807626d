import Foundation
import Git
import PipelineModel

/// `git pipeline lint [FILE…]`: reads each file and reports what will not run here.
public enum Linter {
    public struct Report: Sendable {
        public let file: String
        public let kind: LintKind
        public let diagnostics: [Diagnostic]
        public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
    }

    /// The files `lint` checks when none are named: the definitions, buildspecs and appspecs at the
    /// top of the working tree.
    public static func defaultFiles(in folder: String) -> [String] {
        let fm = FileManager.default
        var files = [".pipeline.yml", ".pipeline.yaml", ".pipeline.json", "buildspec.yml", "buildspec.yaml", "appspec.yml", "appspec.yaml"]
            .filter { fm.fileExists(atPath: folder + "/" + $0) }
        if let entries = try? fm.contentsOfDirectory(atPath: folder + "/.pipelines") {
            files += entries.sorted().filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") || $0.hasSuffix(".json") }.map { ".pipelines/" + $0 }
        }
        return files
    }

    public static func lint(file: String, kind: LintKind?) throws -> Report {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw OperationError(message: "cannot read \(file)")
        }
        // The same decoding as a push's (Definitions.load): UTF-8, no NUL, or the error where it is.
        let text: String
        switch DefinitionText.decode(Array(data), file: file) {
        case .success(let decoded): text = decoded
        case .failure(let diagnostic): return Report(file: file, kind: kind ?? .pipeline, diagnostics: [diagnostic])
        }
        let detected = kind ?? LintKind.detect(path: file, text: text)
        var name = (file as NSString).lastPathComponent
        for suffix in [".yml", ".yaml", ".json"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
        if name.hasPrefix(".") || name.isEmpty { name = repositoryName(near: file) ?? "pipeline" }
        return Report(file: file, kind: detected, diagnostics: detected.check(text, file: file, defaultName: name))
    }

    /// The name a push gives `.pipeline.yml`'s pipeline: the repository's. In a clone, the name of
    /// the repository `origin` points at (`git@host:team/app.git` → `app`), else the work tree's
    /// folder; in a bare repository, its own folder.
    static func repositoryName(near file: String) -> String? {
        let folder = (file as NSString).deletingLastPathComponent
        guard let repository = try? Repository.discover(from: folder.isEmpty ? "." : folder) else { return nil }
        if !repository.isBare, var url = (try? repository.configString("remote.origin.url")) ?? nil {
            while url.hasSuffix("/") { url.removeLast() }
            if let last = url.split(whereSeparator: { $0 == "/" || $0 == ":" }).last {
                var name = String(last)
                if name.hasSuffix(".git") { name.removeLast(4) }
                if !name.isEmpty { return name }
            }
        }
        return DefinitionFiles.repositoryName(gitDirectory: repository.gitDirectory)
    }
}
