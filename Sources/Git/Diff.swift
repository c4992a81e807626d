import CGit2

extension Repository {
    /// The paths that differ between two commits' trees (both sides of renames and deletions);
    /// `from` nil compares against the empty tree, so every file counts.
    public func changedPaths(from: ObjectID?, to: ObjectID) throws -> [String] {
        func tree(_ commit: ObjectID) throws -> OpaquePointer? {
            var oid = try self.commit(commit).tree.raw
            var tree: OpaquePointer?
            try check(git_tree_lookup(&tree, handle, &oid), operation: "look up the tree of \(commit)")
            return tree
        }
        let oldTree: OpaquePointer? = try from.flatMap(tree)
        defer { git_tree_free(oldTree) }
        let newTree = try tree(to)
        defer { git_tree_free(newTree) }
        var diff: OpaquePointer?
        try check(git_diff_tree_to_tree(&diff, handle, oldTree, newTree, nil), operation: "diff \(from?.short ?? "empty")..\(to.short)")
        defer { git_diff_free(diff) }
        var paths: Set<String> = []
        for index in 0..<git_diff_num_deltas(diff) {
            guard let delta = git_diff_get_delta(diff, index)?.pointee else { continue }
            if let path = delta.old_file.path { paths.insert(String(cString: path)) }
            if let path = delta.new_file.path { paths.insert(String(cString: path)) }
        }
        return paths.sorted()
    }

    /// The best common ancestor of two commits, or nil when they share none.
    public func mergeBase(_ one: ObjectID, _ two: ObjectID) throws -> ObjectID? {
        var a = one.raw, b = two.raw, out = git_oid()
        let code = git_merge_base(&out, handle, &a, &b)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, operation: "find the merge base of \(one.short) and \(two.short)")
        return ObjectID(out)
    }

    /// The branch HEAD names (`refs/heads/main`), even when it has no commit yet; nil when detached.
    public func headBranch() -> String? {
        var ref: OpaquePointer?
        guard git_reference_lookup(&ref, handle, "HEAD") == 0 else { return nil }
        defer { git_reference_free(ref) }
        guard let target = git_reference_symbolic_target(ref) else { return nil }
        return String(cString: target)
    }
}
