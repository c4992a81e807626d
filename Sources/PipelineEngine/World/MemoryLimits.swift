import Git

/// What keeps a process's memory bounded by the largest file it handles, not by the trees it
/// reads (issue 12: the runner stays under 128 MiB on a netbeans-sized tree).
enum MemoryLimits {
    /// Caps libgit2's pack windows and object cache before the first pack window opens (a window
    /// mapped with the default size, 1 GiB, covers a whole pack and stays resident), and glibc's
    /// malloc to two arenas: by default each thread that ever allocated (archive and checkout
    /// workers, the store's, the actions') keeps an arena of its own whose freed pages stay
    /// resident, and the peak grew by some 50 MiB over a few large trees. Idempotent.
    static func apply() {
        Repository.limitMemory(mappedPackBytes: 4 << 20, windowBytes: 1 << 20, cacheBytes: 1 << 20)
        #if os(Linux)
        _ = glibcMallopt(-8 /* M_ARENA_MAX, malloc.h */, 2)
        #endif
    }

    /// Hands freed memory back to the system after a large operation (a tree archived, written
    /// or unzipped), so that what the next one allocates starts from the baseline rather than
    /// from the last one's fragments: the runner's peak stays one tree's, not a sum. Below 1,000
    /// files it does nothing: malloc_trim walks the heap, a cost a small action should not pay.
    static func release(afterFiles count: Int = .max) {
        guard count >= 1_000 else { return }
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
    }
}

#if os(Linux)
/// glibc's malloc_trim(3).
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32

/// glibc's mallopt(3); Swift's Glibc module does not bring in malloc.h.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
