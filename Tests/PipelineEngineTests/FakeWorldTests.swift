import Foundation
@testable import PipelineEngine
import PipelineModel
import XCTest

/// A provider run against a fake world: the file system in memory, a launcher that runs nothing,
/// a pinned clock. What the Commands provider decides (its script, its environment, its outputs)
/// is checked without a process or a disk (but for the store's SQLite file).
final class FakeWorldTests: XCTestCase {
    final class MemoryFiles: FileSystem, @unchecked Sendable {
        // @unchecked: every access holds `lock`.
        private let lock = NSLock()
        private var files: [String: [UInt8]] = [:]
        private var folders: Set<String> = []

        func createDirectory(_ path: String) throws { lock.withLock { _ = folders.insert(path) } }
        func exists(_ path: String) -> Bool { lock.withLock { files[path] != nil || folders.contains(path) } }
        func read(_ path: String) -> [UInt8]? { lock.withLock { files[path] } }
        func write(_ path: String, _ bytes: [UInt8]) throws { lock.withLock { files[path] = bytes } }
        func append(_ path: String, _ text: String) { lock.withLock { files[path, default: []] += Array(text.utf8) } }
        func remove(_ path: String) throws { lock.withLock { _ = files.removeValue(forKey: path) } }
    }

    /// Runs nothing: records what it was asked to start and answers with `exit`, after writing
    /// what the script would have exported.
    final class ScriptedLauncher: Launcher, @unchecked Sendable {
        // @unchecked: `started` is touched under `lock` only.
        private let lock = NSLock()
        private(set) var started: [ProcessLauncher.Spec] = []
        let exit: ProcessExit
        let files: MemoryFiles
        let exports: [String: String]

        init(exit: ProcessExit, files: MemoryFiles, exports: [String: String] = [:]) {
            self.exit = exit
            self.files = files
            self.exports = exports
        }

        func start(_ spec: ProcessLauncher.Spec) throws -> (pid: pid_t, pump: OutputPump?) {
            lock.withLock { started.append(spec) }
            let meta = (spec.arguments.last! as NSString).deletingLastPathComponent
            for (name, value) in exports { files.append(meta + "/variables", "\(name)=\(value)\u{0}") }
            return (0, nil)  // no process: the supervisor leaves pid 0 alone
        }

        func wait(pid: pid_t, timeout: Double, grace: Double) async -> (ProcessExit, Bool) { (exit, false) }
    }

    struct PinnedClock: WallClock {
        let time: Double
        func now() -> Double { time }
    }

    var folder = ""

    override func setUp() {
        folder = NSTemporaryDirectory() + "fake-world-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: folder + "/pipeline", withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    func context(_ world: World, commands: [String], outputVariables: [String] = []) throws -> ActionContext {
        let layout = StateLayout(gitDirectory: folder)
        let store = try Store(path: layout.database)
        let yaml = """
            stages:
              - name: Build
                actions:
                  - name: Work
                    category: Build
                    provider: Commands
                    commands: [\(commands.map { "\"\($0)\"" }.joined(separator: ", "))]
                    outputVariables: [\(outputVariables.joined(separator: ", "))]
            """
        let declaration = try DefinitionParser.parse(yaml, file: ".pipeline.yml", defaultName: "app")
        let stage = try XCTUnwrap(declaration.stages.first { $0.name == "Build" })
        let execution = ExecutionRecord(id: "e-1", pipeline: "app", number: 7, status: .inProgress, executionMode: "SUPERSEDED",
                                        ref: "refs/heads/main", sourceRevision: String(repeating: "c", count: 40), triggerType: "WebhookV2",
                                        triggerDetail: "{}", definitionPath: ".pipeline.yml", definitionJSON: nil, createdAt: 0)
        // No input: this test is about the script, not about unpacking artifacts.
        var action = stage.actions[0]
        action.inputArtifacts = []
        return ActionContext(execution: execution, stage: stage, action: action, actionId: 1, attempt: 1, layout: layout,
                             settings: PipelineSettings(), store: store, notes: NotesWriter(layout: layout, settings: PipelineSettings(), store: store),
                             artifacts: ArtifactStore(layout: layout), availableArtifacts: [:], logPath: folder + "/log", workspace: folder + "/ws",
                             world: world, doorbell: Doorbell())
    }

    func testCommandsRunInOneBashScriptWithCodeBuildsEnvironment() async throws {
        let files = MemoryFiles()
        let launcher = ScriptedLauncher(exit: .exited(0), files: files, exports: ["TAG": "v7", "OTHER": "x"])
        let world = World(clock: PinnedClock(time: 1_700_000_000), launcher: launcher, files: files, environment: ["PATH": "/usr/bin"])
        let outcome = try await CommandsProvider().run(try context(world, commands: ["make", "echo done"], outputVariables: ["TAG"]))
        XCTAssertTrue(outcome.succeeded)
        XCTAssertEqual(outcome.outputVariables, ["TAG": "v7"], "only declared output variables are kept")
        let spec = try XCTUnwrap(launcher.started.first)
        // In the sandbox (the default): bwrap runs bash.
        XCTAssertTrue(spec.executable.hasSuffix("/bwrap"), spec.executable)
        XCTAssertEqual(Array(spec.arguments.suffix(4).prefix(3)), ["/bin/bash", "--noprofile", "--norc"])
        XCTAssertEqual(spec.environment["PATH"], "/usr/bin", "the world's environment, not the process's")
        XCTAssertEqual(spec.environment["CODEBUILD_BUILD_NUMBER"], "7")
        XCTAssertEqual(spec.environment["CODEBUILD_START_TIME"], "1700000000000", "the pinned clock's time, in ms")
        XCTAssertEqual(spec.environment["PIPELINE_EXECUTION_ID"], "e-1")
        let script = String(decoding: try XCTUnwrap(files.read(spec.arguments.last!)), as: UTF8.self)
        XCTAssertTrue(script.contains("  'make'\n  'echo done'\n"), script)
        XCTAssertTrue(files.exists(folder + "/ws"), "the workspace was made through the world's file system")
    }

    func testAFailedScriptFailsTheAction() async throws {
        let files = MemoryFiles()
        let world = World(clock: PinnedClock(time: 0), launcher: ScriptedLauncher(exit: .exited(2), files: files), files: files, environment: [:])
        let outcome = try await CommandsProvider().run(try context(world, commands: ["false"]))
        XCTAssertFalse(outcome.succeeded)
        XCTAssertEqual(outcome.errorMessage, "exit status 2")
    }
}
