// swift-tools-version:6.0
import PackageDescription

// One set of settings for every target of ours.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "git-pipeline",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "git-pipeline", targets: ["git-pipeline"]),
        .executable(name: "git-pipeline-hook", targets: ["git-pipeline-hook"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        // The web console's HTTP server (`git pipeline serve`): routes, streaming bodies for live pages.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        // Already under Hummingbird; named for HTTPField, which our response headers are built from.
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
    ],
    targets: [
        // libgit2 from the system (Debian: libgit2-dev); only the Git target imports it.
        .systemLibrary(name: "CGit2", pkgConfig: "libgit2", providers: [.apt(["libgit2-dev"])]),
        // zlib from the system, for deflate/inflate of artifact zips and crc32.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Swift values over libgit2: repositories, objects, trees, references, notes, config.
        .target(name: "Git", dependencies: ["CGit2"], swiftSettings: swiftSettings),
        // The pipeline declaration, buildspec and appspec, trigger filters, and their validation with
        // file:line:column errors. Pure.
        .target(name: "PipelineModel", dependencies: ["Yams"], swiftSettings: swiftSettings),
        // Everything that happens, in rooms by concern (ARCHITECTURE.md): Store, Intake, Run, Actions,
        // Deploy, Process, Artifacts, Results, Operations, World. HookClient only for its wire constants.
        .target(
            name: "PipelineEngine",
            dependencies: ["Git", "PipelineModel", "HookClient", "CZlib", .product(name: "GRDB", package: "GRDB.swift")],
            // The hook shims from hooks/ (links), compiled in so that `install` needs no files beside the binary.
            resources: [.embedInCode("Resources/post-receive"), .embedInCode("Resources/pre-receive")],
            swiftSettings: swiftSettings),
        // crypt(3) from the system (libxcrypt: bcrypt, sha512-crypt, …) for htpasswd files.
        .systemLibrary(name: "CCrypt"),
        // The web console (`git pipeline serve`): pages, live streams, the JSON API and the buttons,
        // over Hummingbird; calls Operations and Results, nothing below them.
        .target(
            name: "WebConsole",
            dependencies: ["PipelineEngine", "Git", "CCrypt", .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "HTTPTypes", package: "swift-http-types")],
            // The page's stylesheet and script, compiled in: one binary, nothing to install beside it.
            resources: [.embedInCode("Resources/console.css"), .embedInCode("Resources/console.js")],
            swiftSettings: swiftSettings),
        // The commands: parse, one call into the engine, print, exit code.
        .target(
            name: "GitPipelineCLI",
            dependencies: ["PipelineEngine", "PipelineModel", "Git", "WebConsole", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),
        // main.swift only.
        .executableTarget(name: "git-pipeline", dependencies: ["GitPipelineCLI"], swiftSettings: swiftSettings),
        // The post-receive hook's client: libc only, so it starts in a millisecond; the runner records.
        // A leaf: it depends on nothing of ours.
        .target(name: "HookClient", swiftSettings: swiftSettings),
        // main.swift only.
        // Linked as a static executable: no dynamic loader, no libstdc++ to map and relocate, so it
        // starts in about 1.1 ms instead of 2.7 (a push runs it twice).
        .executableTarget(name: "git-pipeline-hook", dependencies: ["HookClient"], swiftSettings: swiftSettings,
                          linkerSettings: [.unsafeFlags(["-static-executable"])]),
        // libFuzzer targets (`make fuzz`): the zip reader and the definition parsers. The normal build
        // makes replayers that run files through the same entry point.
        .target(name: "FuzzDriver", swiftSettings: swiftSettings),
        .executableTarget(name: "fuzz-zip", dependencies: ["FuzzDriver", "PipelineEngine"], swiftSettings: swiftSettings),
        .executableTarget(name: "fuzz-definition", dependencies: ["FuzzDriver", "PipelineModel"], swiftSettings: swiftSettings),
        .testTarget(name: "GitTests", dependencies: ["Git"], swiftSettings: swiftSettings),
        .testTarget(name: "PipelineModelTests", dependencies: ["PipelineModel"], swiftSettings: swiftSettings),
        .testTarget(name: "PipelineEngineTests", dependencies: ["PipelineEngine", "Git"], swiftSettings: swiftSettings),
        .testTarget(name: "EndToEndTests", dependencies: ["PipelineEngine", "Git"], swiftSettings: swiftSettings),
        .testTarget(name: "WebConsoleTests", dependencies: ["WebConsole", "PipelineEngine", "Git"], swiftSettings: swiftSettings),
    ]
    , swiftLanguageModes: [.v6]
)
