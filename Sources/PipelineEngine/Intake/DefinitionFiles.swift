import Git

/// Where definitions live in a revision (SPEC §3): `.pipeline.yml` and `.pipelines/*.yml`, or
/// CodePipeline's JSON (`aws codepipeline get-pipeline` output) as `.pipeline.json`/`.pipelines/*.json`.
public enum DefinitionFiles {
    static let rootFiles = [".pipeline.yml", ".pipeline.yaml", ".pipeline.json"]
    static let suffixes = [".yml", ".yaml", ".json"]

    /// Every definition file of `commit`, in path order, with its blob.
    public static func list(repository: Repository, commit: ObjectID) throws -> [(path: String, blob: ObjectID)] {
        let tree = try repository.commit(commit).tree
        var files: [(path: String, blob: ObjectID)] = []
        for name in rootFiles {
            if let entry = try repository.treeEntry(in: tree, path: name), !entry.isTree { files.append((name, entry.id)) }
        }
        if let folder = try repository.treeEntry(in: tree, path: ".pipelines"), folder.isTree {
            for entry in try repository.treeEntries(folder.id) where !entry.isTree && suffixes.contains(where: { entry.name.hasSuffix($0) }) {
                files.append((".pipelines/" + entry.name, entry.id))
            }
        }
        return files
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
