extension Repository {
    /// Visits every entry below `tree` depth first in git's order, with its slash-separated path.
    /// Trees are visited before their contents; returning false from `visit` skips a tree's contents.
    public func walk(tree: ObjectID, prefix: String = "", _ visit: (String, TreeEntry) throws -> Bool) throws {
        for entry in try treeEntries(tree) {
            let path = prefix.isEmpty ? entry.name : prefix + "/" + entry.name
            let descend = try visit(path, entry)
            if entry.isTree && descend {
                try walk(tree: entry.id, prefix: path, visit)
            }
        }
    }
}
