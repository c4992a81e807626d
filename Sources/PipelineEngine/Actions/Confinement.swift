import Foundation

/// Paths we read or write on behalf of a definition stay inside their root (the workspace, the
/// cache folder): no absolute path, no `..`, and no symbolic link on the way that leads out. A
/// source tree may hold any link (`a -> /etc`), so this is checked on the disk, not on the text.
enum Confinement {
    /// `root/relative` when it stays inside `root`, else nil. With `mustExist`, the path must be there.
    static func path(_ relative: String, in root: String, mustExist: Bool = false) -> String? {
        let relative = relative.hasPrefix("./") ? String(relative.dropFirst(2)) : relative
        guard !relative.hasPrefix("/"), !relative.split(separator: "/").contains("..") else { return nil }
        guard let realRoot = resolved(root) else { return nil }
        let full = relative.isEmpty ? root : root + "/" + relative
        // The path itself if it is there (a link is followed), else the deepest ancestor that is.
        var probe = full
        var info = stat()
        while lstat(probe, &info) != 0 {
            if mustExist { return nil }
            let parent = (probe as NSString).deletingLastPathComponent
            if parent == probe || parent.isEmpty { return nil }
            probe = parent
        }
        guard let real = resolved(probe), real == realRoot || real.hasPrefix(realRoot + "/") else { return nil }
        return full
    }

    private static func resolved(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}
