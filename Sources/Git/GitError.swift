import CGit2

/// A failed libgit2 call: the operation we attempted, libgit2's code and its message.
public struct GitError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let code: Int32
    public let message: String

    public var description: String { "\(operation): \(message) (libgit2 error \(code))" }

    /// True when the call failed because the object or reference does not exist.
    public var isNotFound: Bool { code == GIT_ENOTFOUND.rawValue }
    /// True when a compare-and-swap on a reference lost the race.
    public var isConflict: Bool { code == GIT_EMODIFIED.rawValue || code == GIT_EEXISTS.rawValue }
}

/// The one C boundary: every libgit2 return code passes through here. The error is read on the same
/// thread right away, before anything else can overwrite libgit2's thread-local last error.
@discardableResult
func check(_ code: Int32, operation: @autoclosure () -> String) throws -> Int32 {
    guard code < 0 else { return code }
    let message: String
    if let last = git_error_last(), let text = last.pointee.message {
        message = String(cString: text)
    } else {
        message = "unknown error"
    }
    throw GitError(operation: operation(), code: code, message: message)
}

/// libgit2 wants one global initialisation per process; Swift's lazy globals run it exactly once.
private let libgit2Initialised: Bool = {
    git_libgit2_init()
    // A shared repository is owned by whoever created it, and every pusher's hook opens it. git's
    // ownership check (safe.directory) guards against running config-driven commands in someone
    // else's repository; libgit2 runs none for us (no hooks, no fsmonitor), and git itself has
    // already accepted the repository when it runs our hooks.
    _ = cgit2_set_owner_validation(0)
    return true
}()

func ensureInitialised() { _ = libgit2Initialised }

extension Repository {
    /// Runs libgit2's one-time global initialisation now (it is otherwise done on first use), so a
    /// caller can do it on another thread while it does other work.
    public static func initializeLibrary() { ensureInitialised() }

    /// Caps what libgit2 keeps in memory for this process: pack data mapped at once and the object
    /// cache. Mapped pack windows count as resident memory once read, and libgit2's defaults
    /// (8 GiB mapped, 256 MiB cache) would let a large repository's packs fill it.
    public static func limitMemory(mappedPackBytes: Int, windowBytes: Int, cacheBytes: Int) {
        ensureInitialised()
        _ = cgit2_set_mwindow_size(windowBytes)
        _ = cgit2_set_mwindow_mapped_limit(mappedPackBytes)
        _ = cgit2_set_cache_max_size(cacheBytes)
    }
}
