import Foundation

/// Everything outside the engine's own logic that it reads or changes: the clock, the process
/// launcher, the file system and the environment. The live world is wired in by the CLI; unit
/// tests pass fakes.
public struct World: Sendable {
    public var clock: any WallClock
    public var launcher: any Launcher
    public var files: any FileSystem
    /// The environment actions start from (git's hook variables already removed).
    public var environment: [String: String]

    public init(clock: any WallClock, launcher: any Launcher, files: any FileSystem, environment: [String: String]) {
        self.clock = clock
        self.launcher = launcher
        self.files = files
        self.environment = environment
    }

    /// The machine itself.
    public static var live: World {
        World(clock: SystemClock(), launcher: ProcessLauncher(), files: LocalFileSystem(), environment: Spawn.cleanEnvironment())
    }
}

/// The file operations the engine's runner and actions use.
public protocol FileSystem: Sendable {
    func createDirectory(_ path: String) throws
    func exists(_ path: String) -> Bool
    func read(_ path: String) -> [UInt8]?
    func write(_ path: String, _ bytes: [UInt8]) throws
    func append(_ path: String, _ text: String)
    func remove(_ path: String) throws
}

extension FileSystem {
    func readText(_ path: String) -> String? { read(path).map { String(decoding: $0, as: UTF8.self) } }
    func write(_ path: String, text: String) throws { try write(path, Array(text.utf8)) }
}

/// The local disk, through FileManager.
public struct LocalFileSystem: FileSystem {
    public init() {}

    public func createDirectory(_ path: String) throws {
        // One mkdir when the parent is there (an action's workspace and its folders): no walk up.
        if mkdir(path, 0o777) == 0 { return }
        var info = stat()
        if errno == EEXIST && stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR { return }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0  // as FileManager.fileExists, without its bridging (links followed)
    }

    public func read(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map { Array($0) } }

    /// Writes a scratch file (an action's log header, its script): a new file in place of whatever
    /// had the name, no temporary, rename or fsync; a crash leaves at worst a short file nobody
    /// reuses. The action's own earlier scripts could have left a link under the next script's name
    /// (its metadata folder is writable in the sandbox): the name is removed and made anew
    /// (O_EXCL, O_NOFOLLOW), so nothing is ever written through a link.
    public func write(_ path: String, _ bytes: [UInt8]) throws {
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o666)  // the umask decides (shared repositories)
        guard fd >= 0 else { throw ZipError(path: path, message: "cannot create: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { writeFully(fd, $0) }
        guard written else { throw ZipError(path: path, message: "cannot write: \(String(cString: strerror(errno)))") }
    }

    /// Appends a line; a log that cannot be opened loses the line, never the action.
    public func append(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o666)  // the umask decides (shared repositories)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    public func remove(_ path: String) throws {
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
    }
}
