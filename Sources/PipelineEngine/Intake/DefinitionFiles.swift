import Git

/// Where definitions live in a revision (SPEC §3): `.pipeline.yml` and `.pipelines/*.yml`, or
/// CodePipeline's JSON (`aws codepipeline get-pipeline` output) as `.pipeline.json`/`.pipelines/*.json`.
public enum DefinitionFiles {
    static let rootFiles = [".pipeline.yml", ".pipeline.yaml", ".pipeline.json"]
    static let suffixes = [".yml", ".yaml", ".json"]

    /// A definition file of a revision: its blob (a link's target's, for a link inside the tree),
    /// or why it cannot be read.
    public struct File: Sendable {
        public var path: String
        public var blob: ObjectID
        public var problem: String?
    }

    /// Every definition file of `commit`, in path order.
    public static func list(repository: Repository, commit: ObjectID) throws -> [File] {
        let tree = try repository.commit(commit).tree
        var entries: [(path: String, entry: TreeEntry)] = []
        for name in rootFiles {
            if let entry = try repository.treeEntry(in: tree, path: name), !entry.isTree { entries.append((name, entry)) }
        }
        if let folder = try repository.treeEntry(in: tree, path: ".pipelines"), folder.isTree {
            for entry in try repository.treeEntries(folder.id) where !entry.isTree && suffixes.contains(where: { entry.name.hasSuffix($0) }) {
                entries.append((".pipelines/" + entry.name, entry))
            }
        }
        return try entries.map { path, entry in
            guard entry.mode == 0o120000 else { return File(path: path, blob: entry.id) }
            return try followLink(path: path, link: entry, tree: tree, repository: repository)
        }
    }

    /// A definition that is a symbolic link is read only when the link stays inside the tree and
    /// names a regular file there; its blob is then the target's (so the parse cache follows it).
    static func followLink(path: String, link: TreeEntry, tree: ObjectID, repository: Repository) throws -> File {
        let target = String(decoding: try repository.blob(link.id), as: UTF8.self)
        var parts = path.split(separator: "/").dropLast().map(String.init)
        var escapes = target.hasPrefix("/")
        for part in target.split(separator: "/") where part != "." {
            if part == ".." { if parts.isEmpty { escapes = true } else { parts.removeLast() } } else { parts.append(String(part)) }
        }
        let resolved = parts.joined(separator: "/")
        if !escapes, !resolved.isEmpty, let entry = try repository.treeEntry(in: tree, path: resolved),
           entry.mode == 0o100644 || entry.mode == 0o100755 {
            return File(path: path, blob: entry.id)
        }
        return File(path: path, blob: link.id, problem: "\(path) is a symbolic link to `\(target)`, which " +
                    (escapes ? "leaves the repository" : "is not a file of this revision") + "; it is not read")
    }

    /// A pipeline's name when its file declares none: `.pipelines/NAME.yml` gives NAME, the root
    /// file the repository's name.
    public static func defaultName(path: String, repositoryName: String) -> String {
        guard path.hasPrefix(".pipelines/") else { return repositoryName }
        var name = String(path.dropFirst(".pipelines/".count))
        for suffix in suffixes where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
        return name
    }

    /// The repository's name, as CodePipeline's RepositoryName: the folder without `.git`.
    public static func repositoryName(gitDirectory: String) -> String {
        var path = gitDirectory
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        var name = String(path.split(separator: "/").last ?? "repository")
        if name == ".git" { name = String(path.split(separator: "/").dropLast().last ?? "repository") }
        if name.hasSuffix(".git") { name.removeLast(4) }
        return name
    }
}
