import CGit2

extension Repository {
    /// A work-tree clone of the repository at `source` into the empty folder `folder`, with its whole
    /// history, checked out at `commit`: on branch `branch` (made there, tracking `origin/branch`)
    /// when given, else on a detached HEAD. The object files are copied, never hard-linked: the
    /// clone is handed to code that may write to it, which must not reach the source's objects.
    /// `origin` is left pointing at `source`.
    @discardableResult
    public static func clone(from source: String, into folder: String, commit: ObjectID, branch: String?) throws -> Repository {
        ensureInitialised()
        var options = git_clone_options()
        try check(git_clone_options_init(&options, UInt32(GIT_CLONE_OPTIONS_VERSION)), operation: "initialise clone options")
        options.local = GIT_CLONE_LOCAL_NO_LINKS
        options.checkout_opts.checkout_strategy = GIT_CHECKOUT_NONE.rawValue
        var out: OpaquePointer?
        try check(git_clone(&out, source, folder, &options), operation: "clone \(source) into \(folder)")
        let repository = Repository(owning: out!)

        var oid = commit.raw
        var object: OpaquePointer?
        try check(git_commit_lookup(&object, repository.handle, &oid), operation: "look up \(commit) in the clone")
        defer { git_commit_free(object) }
        if let branch {
            var reference: OpaquePointer?
            try check(git_branch_create(&reference, repository.handle, branch, object, 1), operation: "make branch \(branch) in the clone")
            defer { git_reference_free(reference) }
            // The tracking branch exists when the source has the branch (it may have been deleted since).
            var remote: OpaquePointer?
            if git_branch_lookup(&remote, repository.handle, "origin/" + branch, GIT_BRANCH_REMOTE) == 0 {
                git_reference_free(remote)
                try check(git_branch_set_upstream(reference, "origin/" + branch), operation: "track origin/\(branch)")
            }
            try check(git_repository_set_head(repository.handle, "refs/heads/" + branch), operation: "check out \(branch)")
        } else {
            try check(git_repository_set_head_detached(repository.handle, &oid), operation: "check out \(commit)")
        }
        var checkout = git_checkout_options()
        try check(git_checkout_options_init(&checkout, UInt32(GIT_CHECKOUT_OPTIONS_VERSION)), operation: "initialise checkout options")
        checkout.checkout_strategy = GIT_CHECKOUT_FORCE.rawValue
        try check(git_checkout_head(repository.handle, &checkout), operation: "check out the work tree")
        return repository
    }
}
