import Foundation
import XCTest

/// Issue 12's workspaces: the SourceArtifact lands in an action's workspace written from the
/// commit's tree (not by inflating its zip), with exactly the files, modes, links and bytes that
/// `git archive` gives; other artifacts are unzipped.
final class WorkspaceTests: XCTestCase {
    /// Prints one line per entry below a folder: path, type and mode, and the sha256 of a file or
    /// the target of a link.
    static let lister = """
        import hashlib, os, stat, sys
        root = sys.argv[1]
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(dirs + files):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, root)
                info = os.lstat(path)
                if rel.startswith(".git-pipeline"): continue
                if stat.S_ISLNK(info.st_mode): print(rel, "link", os.readlink(path))
                elif stat.S_ISDIR(info.st_mode): print(rel, "dir")
                else: print(rel, "file", "x" if info.st_mode & 0o100 else "-", hashlib.sha256(open(path, "rb").read()).hexdigest())
        """

    func testTheSourceWorkspaceIsTheCommitsTreeAsGitArchiveWritesIt() throws {
        let box = try Sandbox()
        let listing = box.exchange + "/workspace.txt", secondary = box.exchange + "/secondary.txt"
        try Self.lister.write(toFile: box.exchange + "/list.py", atomically: true, encoding: .utf8)
        let definition = """
            name: app
            stages:
              - name: Build
                actions:
                  - name: Make
                    category: Build
                    provider: Commands
                    commands:
                      - mkdir -p out && echo built > out/result.txt
                    outputArtifacts:
                      - name: BuildOutput
                        files: ["out/**"]
              - name: Look
                actions:
                  - name: List
                    category: Test
                    provider: Commands
                    inputArtifacts: [SourceArtifact, BuildOutput]
                    commands:
                      - python3 \(box.exchange)/list.py . > \(listing)
                      - python3 \(box.exchange)/list.py "$CODEBUILD_SRC_DIR_BuildOutput" > \(secondary)
            """
        try box.write([".pipeline.yml": definition, "bin/run.sh": "#!/bin/sh\necho run\n", "a/b/c/deep.txt": String(repeating: "deep\n", count: 3000),
                       "empty.txt": "", "ünïcode name.txt": "utf8\n", "a/b/.hidden": "h\n"])
        chmod(box.clone + "/bin/run.sh", 0o755)
        symlink("a/b/c/deep.txt", box.clone + "/link-to-deep")
        symlink("../bin", box.clone + "/a/bin-link")
        symlink("/etc/passwd", box.clone + "/absolute-link")
        try box.git(["add", "-A"])
        // A submodule's gitlink: an empty folder, as git archive writes it.
        try box.git(["update-index", "--add", "--cacheinfo", "160000,\(String(repeating: "ab", count: 20)),vendor/sub"])
        try box.git(["commit", "-q", "-m", "tree with modes"])
        let commit = try box.git(["rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try box.push()
        let note = try box.waitForNote(commit)
        XCTAssertTrue(note.hasPrefix("app #1 Succeeded"), note)

        let reference = box.root + "/reference"
        try FileManager.default.createDirectory(atPath: reference, withIntermediateDirectories: true)
        try box.run("sh", ["-c", "git archive --format=tar \(commit) | tar -x -C \(reference)"], in: box.server)
        let expected = try box.run("python3", ["-c", Self.lister, reference]).stdout
        let actual = try String(contentsOfFile: listing, encoding: .utf8)
        XCTAssertEqual(actual, expected)
        XCTAssertTrue(actual.contains("bin/run.sh file x "), actual)
        XCTAssertTrue(actual.contains("absolute-link link /etc/passwd"), actual)
        XCTAssertTrue(actual.contains("vendor/sub dir\n"), actual)

        let log = try box.pipeline(["logs", "app#1", "--action", "List"]).stdout
        XCTAssertTrue(log.contains("input artifact SourceArtifact (sha256:") && log.contains("checked out from tree"), log)
        XCTAssertTrue(log.contains("input artifact BuildOutput (sha256:") && log.contains(") unpacked into"), log)
        XCTAssertTrue(try String(contentsOfFile: secondary, encoding: .utf8).hasPrefix("out dir\nout/result.txt file - "))
    }

    /// git accepts a tree with an entry named `..` (`git mktree` makes one; receive-pack takes it
    /// unless receive.fsckObjects is on): writing it must fail the action, not write outside.
    func testATreeThatClimbsOutOfTheWorkspaceIsRefused() throws {
        let box = try Sandbox()
        let definition = Sandbox.quickPipeline("echo should not run")
        func object(_ arguments: [String], input: String) throws -> String {
            try box.run("git", arguments, in: box.clone, input: input).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        try box.git(["commit", "-q", "--allow-empty", "-m", "base"])
        let payload = try object(["hash-object", "-w", "--stdin"], input: "escaped\n")
        let pipelineBlob = try object(["hash-object", "-w", "--stdin"], input: definition)
        let climbing = try object(["mktree"], input: "100644 blob \(payload)\tescaped.txt\n")
        let root = try object(["mktree"], input: "040000 tree \(climbing)\t..\n100644 blob \(pipelineBlob)\t.pipeline.yml\n")
        let commit = try object(["commit-tree", root, "-p", "HEAD", "-m", "climb"], input: "")
        try box.git(["push", "origin", "\(commit):refs/heads/main"])
        let note = try box.waitForNote(commit)
        XCTAssertTrue(note.contains("Failed"), note)
        let log = try box.pipeline(["logs", "server#1", "--action", "Quick"]).stdout
        XCTAssertTrue(log.contains("unsafe name `..`"), log)
        XCTAssertFalse(log.contains("Running command"), log)
        let escaped = try box.run("find", [box.server, "-name", "escaped.txt"]).stdout
        XCTAssertEqual(escaped, "", "a file was written outside the workspace")
    }
}
