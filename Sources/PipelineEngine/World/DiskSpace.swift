import Foundation

/// Free space, for errors that come from a full disk: SQLite says "database or disk is full",
/// libgit2 and Foundation each their own words; the remark names the cause and the path.
enum DiskSpace {
    /// Bytes free for unprivileged writers on the file system of `path`.
    static func available(_ path: String) -> UInt64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }

    /// " (No space left on device: PATH has N KiB free)" when under 1 MiB is left, else "".
    static func remark(_ path: String) -> String {
        guard let free = available(path), free < 1 << 20 else { return "" }
        return " (No space left on device: \(path) has \(free / 1024) KiB free)"
    }
}
