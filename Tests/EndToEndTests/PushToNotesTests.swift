import Foundation
import XCTest

/// Issue 2's end-to-end checks: real pushes into a real bare repository, real notes.
final class PushToNotesTests: XCTestCase {
    static let twoStages = """
        name: app
        stages:
          - name: Build
            actions:
              - name: Compile
                category: Build
                provider: Commands
                commands:
                  - mkdir -p out && cd out
                  - export GREETING=hello
                  - echo "$GREETING from $(basename $(pwd))" > greeting.txt
                outputArtifacts:
                  - name: BuildOutput
                    files: ["out/**"]
          - name: Test
            actions:
              - name: Check
                category: Test
                provider: Commands
                inputArtifacts: [BuildOutput]
                commands:
                  - grep -q "hello from out" out/greeting.txt
                  - test ! -e README.md
        """

    func testTwoStagePipelineSucceedsAndTheNoteSaysSo() throws {
        let box = try Sandbox()
        let commit = try box.commit("first", files: [".pipeline.yml": Self.twoStages, "README.md": "hi\n"])
        let push = try box.pushAnswered()
        XCTAssertTrue(push.stderr.contains("remote: git-pipeline: app #1 queued for main@\(commit.prefix(7)) (SUPERSEDED)"), push.stderr)
        XCTAssertTrue(push.stderr.contains("git log --notes=ci -1 \(commit.prefix(7))"), push.stderr)
        let note = try box.waitForNote(commit)
        XCTAssertTrue(note.hasPrefix("app #1 Succeeded  main  "), note)
        XCTAssertTrue(note.contains("  Source  Succeeded  Source "), note)
        XCTAssertTrue(note.contains("  Build   Succeeded  Compile "), note)
        XCTAssertTrue(note.contains("  Test    Succeeded  Check "), note)
        let log = try box.git(["log", "--notes=ci", "-1", commit], in: box.server).stdout
        XCTAssertTrue(log.contains("Notes (ci):\n    app #1 Succeeded"), log)

        // The machine-readable record: one JSON object per line with a schema version.
        let records = try box.note(commit, ref: "ci-records")
        let object = try JSONSerialization.jsonObject(with: Data(records.split(separator: "\n")[0].utf8)) as! [String: Any]
        XCTAssertEqual(object["schema"] as? Int, 1)
        XCTAssertEqual(object["status"] as? String, "Succeeded")
        XCTAssertEqual(object["commit"] as? String, commit)

        // Readable in a clone after fetching the notes.
        try box.git(["fetch", "-q", "origin", "refs/notes/*:refs/notes/*"])
        let cloneLog = try box.git(["log", "--notes=ci", "-1"]).stdout
        XCTAssertTrue(cloneLog.contains("app #1 Succeeded"), cloneLog)

        // The reading commands agree with the note.
        let history = try box.pipeline(["history", "--json"]).stdout
        let summaries = (try JSONSerialization.jsonObject(with: Data(history.utf8)) as! [String: Any])["pipelineExecutionSummaries"] as! [[String: Any]]
        XCTAssertEqual(summaries.first?["status"] as? String, "Succeeded")
        XCTAssertEqual((summaries.first?["sourceRevisions"] as? [[String: Any]])?.first?["revisionId"] as? String, commit)
        let state = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["status", "app", "--json"]).stdout.utf8)) as! [String: Any]
        let stages = state["stageStates"] as! [[String: Any]]
        XCTAssertEqual(stages.map { $0["stageName"] as! String }, ["Source", "Build", "Test"])
        XCTAssertEqual((stages[2]["latestExecution"] as! [String: Any])["status"] as? String, "Succeeded")
        let shown = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["show", "app#1", "--json"]).stdout.utf8)) as! [String: Any]
        XCTAssertEqual((shown["pipelineExecution"] as! [String: Any])["status"] as? String, "Succeeded")
        let logs = try box.pipeline(["logs", "app#1", "--action", "Compile"]).stdout
        XCTAssertTrue(logs.contains("Running command export GREETING=hello"), logs)
    }

    func testFailingCommandFailsTheExecutionAndTheNoteNamesIt() throws {
        let box = try Sandbox()
        let definition = Fixture.pipeline("name: app", stages: Fixture.stage("Build", Fixture.commands("Compile", ["echo building", "sh -c 'exit 3'", "echo never"])),
                                          Fixture.shipStage)
        let commit = try box.commit("broken build", files: [".pipeline.yml": definition])
        try box.push()
        let note = try box.waitForNote(commit)
        XCTAssertTrue(note.hasPrefix("app #1 Failed"), note)
        XCTAssertTrue(note.contains("Compile: command `sh -c 'exit 3'` failed (exit status 3)"), note)
        XCTAssertTrue(note.contains("log: git pipeline logs app#1 --action Compile"), note)
        XCTAssertTrue(note.contains("  Deploy  —"), note)  // later stages do not run
        let logs = try box.pipeline(["logs", "app#1", "--action", "Compile"]).stdout
        XCTAssertTrue(logs.contains("building"))
        XCTAssertFalse(logs.contains("\nnever"))
        XCTAssertTrue(logs.contains("Command did not exit successfully sh -c 'exit 3' exit status 3"), logs)
        let shown = try box.pipeline(["show", "app#1", "--json"]).stdout
        XCTAssertFalse(shown.contains("\"Ship\""), "Deploy must not have run: \(shown)")
    }

    func testOnePushOfTwoBranchesMakesTwoExecutions() throws {
        let box = try Sandbox()
        let first = try box.commit("one", files: [".pipeline.yml": Self.twoStages])
        try box.git(["branch", "feature"])
        let push = try box.pushAnswered(["HEAD:main", "feature:feature"])
        XCTAssertTrue(push.stderr.contains("app #1 queued") && push.stderr.contains("app #2 queued"), push.stderr)
        XCTAssertTrue(push.stderr.contains("for main@") && push.stderr.contains("for feature@"), push.stderr)
        let summaries = try box.waitForExecutions(2)
        XCTAssertEqual(summaries.map { $0["status"] as? String }, ["Succeeded", "Succeeded"])
        XCTAssertEqual(Set(summaries.compactMap { ($0["trigger"] as? [String: Any])?["triggerDetail"] as? String }.map { $0.contains("refs/heads/feature") }), [true, false])
        XCTAssertTrue(try box.note(first).hasPrefix("app #2 Succeeded  feature"), "the note shows the latest execution on the commit")
        // Both built the same tree: it was zipped once, by whichever entered Source first.
        let sourceLogs = try ["app#1", "app#2"].map { try box.pipeline(["logs", $0, "--action", "Source"]).stdout }
        XCTAssertEqual(sourceLogs.filter { $0.contains("Source: wrote sha256:") }.count, 1, "\(sourceLogs)")
        XCTAssertEqual(sourceLogs.filter { $0.contains("tree already zipped; reusing sha256:") }.count, 1, "\(sourceLogs)")
    }

    func testTagPushTriggersTagFilteredPipelineOnly() throws {
        let box = try Sandbox()
        let release = """
            name: release
            triggers:
              - gitConfiguration:
                  push:
                    - tags:
                        includes: ["v*"]
            stages:
              - name: Publish
                actions:
                  - name: Announce
                    category: Build
                    provider: Commands
                    commands: ['echo "releasing $PIPELINE_TAG"']
            """
        let commit = try box.commit("release", files: [".pipelines/release.yml": release, ".pipelines/ci.yml": Self.twoStages.replacingOccurrences(of: "name: app", with: "name: ci")])
        let branchPush = try box.pushAnswered()
        XCTAssertTrue(branchPush.stderr.contains("ci #1 queued"), branchPush.stderr)
        XCTAssertFalse(branchPush.stderr.contains("release #"), branchPush.stderr)
        try box.git(["tag", "-a", "v1.0", "-m", "version 1.0"])
        let tagPush = try box.pushAnswered(["v1.0"])
        XCTAssertTrue(tagPush.stderr.contains("release #1 queued for v1.0@\(commit.prefix(7))"), tagPush.stderr)
        XCTAssertFalse(tagPush.stderr.contains("ci #2"), tagPush.stderr)
        let note = try box.waitForNote(commit, blocks: 2)
        XCTAssertTrue(note.contains("release #1 Succeeded  v1.0"), note)
        XCTAssertTrue(try box.pipeline(["logs", "release#1"]).stdout.contains("releasing v1.0"))
    }

    func testBranchDeletionMakesNoExecution() throws {
        let box = try Sandbox()
        let commit = try box.commit("one", files: [".pipeline.yml": Self.twoStages])
        try box.git(["branch", "topic"])
        try box.push(["HEAD:main", "topic:topic"])
        _ = try box.waitForNote(commit)
        // With no runner alive, a push that triggers nothing starts none.
        let deadline = Date().addingTimeInterval(20)
        while box.runnerHoldsLock() && Date() < deadline { usleep(50_000) }
        func runnersStarted() -> Int {
            ((try? String(contentsOfFile: box.server + "/pipeline/runner.log", encoding: .utf8)) ?? "").components(separatedBy: " started\n").count
        }
        let before = runnersStarted()
        let deletion = try box.push([":topic"])
        XCTAssertFalse(deletion.stderr.contains("queued") || deletion.stderr.contains("recorded"), deletion.stderr)
        usleep(1_000_000)
        XCTAssertEqual(runnersStarted(), before, "a deletion started a runner")
        let history = try box.pipeline(["history"]).stdout
        XCTAssertEqual(history.split(separator: "\n").count, 2, history)
    }

    func testBrokenDefinitionGivesRemoteLineAndFailedExecution() throws {
        let box = try Sandbox()
        let broken = """
            name: app
            stages:
              - name: Build
                actons:
                  - name: Compile
            """
        let commit = try box.commit("typo", files: [".pipeline.yml": broken])
        let push = try box.pushAnswered()  // the runner parses the definition while the push waits
        XCTAssertTrue(push.stderr.contains("remote: git-pipeline: .pipeline.yml:4:5: error: unknown key `actons` in a stage — did you mean `actions`?"), push.stderr)
        XCTAssertTrue(push.stderr.contains("app #1 failed (invalid .pipeline.yml)"), push.stderr)
        let note = try box.waitForNote(commit)
        XCTAssertTrue(note.hasPrefix("app #1 Failed"), note)
        XCTAssertTrue(note.contains(".pipeline.yml:4:5: error: unknown key `actons`"), note)

        let yamlBroken = "stages:\n  - name: [unclosed\n"
        let second = try box.commit("bad yaml", files: [".pipeline.yml": yamlBroken])
        let push2 = try box.pushAnswered()
        XCTAssertTrue(push2.stderr.contains(".pipeline.yml:3:1: error: YAML syntax:"), push2.stderr)
        XCTAssertTrue(try box.waitForNote(second).contains("YAML syntax"))
        // With no runner to answer, the push only says it recorded the commit; the error is in its note.
        let deadline = Date().addingTimeInterval(20)
        while box.runnerHoldsLock() && Date() < deadline { usleep(50_000) }
        let third = try box.commit("still broken", files: [".pipeline.yml": broken + "\n"])
        let push3 = try box.push()
        XCTAssertTrue(push3.stderr.contains("main@\(third.prefix(7)) recorded; the runner is starting"), push3.stderr)
        let note3 = try box.waitForNote(third)
        XCTAssertTrue(note3.hasPrefix("app #") && note3.contains(" Failed  main") && note3.contains(".pipeline.yml:4:5: error: unknown key `actons`"), note3)
    }

    func testSourceArtifactEqualsGitArchive() throws {
        let box = try Sandbox()
        try box.write([".pipeline.yml": Self.twoStages, "bin/run.sh": "#!/bin/sh\necho run\n", "a/b/c/deep.txt": String(repeating: "deep text\n", count: 500),
                       "empty.txt": "", "ünïcode name.txt": "utf8\n"])
        chmod(box.clone + "/bin/run.sh", 0o755)
        symlink("a/b/c/deep.txt", box.clone + "/link-to-deep")
        symlink("../bin", box.clone + "/a/bin-link")
        let commit = try box.commit("tree with modes")
        try box.push()
        let note = try box.waitForNote(commit)
        let digest = try XCTUnwrap(note.split(separator: "\n").first { $0.contains("SourceArtifact sha256:") }?.split(separator: ":").last.map(String.init))

        let ours = box.root + "/ours.zip", theirs = box.root + "/theirs.zip"
        let archived = try box.pipeline(["archive", commit, "-o", ours])
        XCTAssertTrue(archived.stderr.contains("sha256:\(digest)"), "archive must write the bytes the Source action stored: \(archived.stderr) vs \(digest)")
        try box.git(["archive", "--format=zip", "-o", theirs, commit], in: box.server)
        let listing = """
            import sys, zipfile, hashlib, stat
            def entries(path):
                out = []
                for i in zipfile.ZipFile(path).infolist():
                    mode = i.external_attr >> 16 if i.create_system == 3 else (0o40755 if i.is_dir() else 0o100644)
                    if stat.S_ISDIR(mode): mode = 0o40000
                    data = zipfile.ZipFile(path).read(i.filename)
                    out.append("%s %o %s" % (i.filename, mode, hashlib.sha256(data).hexdigest()))
                return out
            a, b = entries(sys.argv[1]), entries(sys.argv[2])
            print("\\n".join(a))
            sys.exit(0 if a == b else 1)
            """
        let compared = try box.run("python3", ["-c", listing, ours, theirs], allowFailure: true)
        XCTAssertEqual(compared.status, 0, "zip contents differ from git archive:\n\(compared.output)")
        XCTAssertTrue(compared.stdout.contains("bin/run.sh 100755"), compared.stdout)
        XCTAssertTrue(compared.stdout.contains("link-to-deep 120777"), compared.stdout)
        XCTAssertTrue(compared.stdout.contains("a/b/c/ 40000"), compared.stdout)
        // Bytes are a pure function of the tree: a second archive is identical.
        let again = box.root + "/again.zip"
        try box.pipeline(["archive", commit, "-o", again])
        XCTAssertEqual(FileManager.default.contents(atPath: ours), FileManager.default.contents(atPath: again))
    }

    /// The files of a zip as `sha256sum` prints them, and its folders, sorted: what git archive
    /// and our SourceArtifact are compared by.
    static let zipListing = """
        import sys, zipfile, hashlib, stat
        z = zipfile.ZipFile(sys.argv[1])
        for i in sorted(z.infolist(), key=lambda i: i.filename):
            # git writes Unix modes only for executables and links (MS-DOS attributes otherwise).
            mode = i.external_attr >> 16 if i.create_system == 3 else 0o100644
            if i.is_dir(): print("dir  " + i.filename)
            else: print("%s  %s %o" % (hashlib.sha256(z.read(i.filename)).hexdigest(), i.filename, mode))
        """

    /// `.gitattributes` as git archive applies them: export-ignore (files, folders, patterns by
    /// name and by path, a deeper file undoing it), export-subst for the archived commit (its
    /// dates in the author's zone, names, subject and body, abbreviated ids), text/eol/crlf and
    /// text=auto conversions (binary left alone, CRLF files left alone), info/attributes, the
    /// `binary` and custom macros, core.autocrlf, and an empty folder per submodule. The zip's
    /// files, modes and bytes equal `git archive --format=zip`'s; the workspace holds the same
    /// bytes; a commit with the same tree gets its own zip when export-subst makes it differ.
    func testSourceArtifactFollowsGitattributesAsGitArchiveDoes() throws {
        let box = try Sandbox()
        let listing = "find . -mindepth 1 -type d -printf 'dir  %P/\\n' | sort; find . -type f -printf '%P\\n' | sort | while read -r f; do echo \"$(sha256sum < \"$f\" | cut -c1-64)  $f\"; done"
        let definition = Fixture.pipeline(stages: Fixture.quickStage(listing))
        let crlf = "one\r\ntwo\r\n"
        let files: [String: String] = [
            ".pipeline.yml": definition,
            "run.bat": "@echo off\necho one\r\necho two\n",
            "notes.txt": "a\nb\n",
            "legacy.c": "int x;\nint y;\n",
            "auto/text.txt": "plain\ntext\n", "auto/crlf.txt": crlf, "auto/bin.dat": "a\u{0}b\nc\n",
            "data/blob.dat": "x\ny\n", "data/keep.cfg": "k=v\nw=z\n",
            "tests/unit/a.txt": "ignored\n", "tests/b.txt": "ignored\n",
            "docs/guide.md": "ignored\n", "debug.log": "ignored\n",
            "sub/page.md": "# page\nline\n", "sub/keep.log": "kept\n", "sub/drop.log": "dropped\n",
            "sub/deeper/x.md": "x\ny\n",
            "VERSION": "commit $Format:%H %h %T %t %P %p$\nauthor $Format:%an <%ae> %al|%ad|%aD|%ai|%aI|%as|%at$\n" +
                "committer $Format:%cn %ce %cd$\nsubject $Format:%s$\nbody $Format:%b$ raw $Format:%B$\n" +
                "other $Format:%%|%x41|%n|%q|%ax$ unclosed $Format:%H\n",
            "plain.txt": "$Format:%H$ is not expanded here\n",
        ]
        try box.commit("content first", files: files)
        // A submodule: a gitlink to some commit.
        let other = try box.git(["rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try box.git(["update-index", "--add", "--cacheinfo", "160000,\(other),vendor/lib"])
        let attributes = """
            # attributes, as a project keeps them
            [attr]shipped -export-ignore export-subst
            *.bat text eol=crlf
            *.txt text
            legacy.c crlf
            auto/* text=auto eol=crlf
            data/*.dat binary eol=crlf
            /tests/ export-ignore
            docs export-ignore
            *.log export-ignore
            VERSION shipped
            "sub/page.md" eol=crlf

            """
        try box.write([".gitattributes": attributes, "sub/.gitattributes": "keep.log -export-ignore\n*.md text eol=crlf\n"])
        try box.git(["add", ".gitattributes", "sub/.gitattributes"])
        let message = "Subject line\n  continues  \n\nBody one\nBody two\n"
        try box.run("git", ["commit", "-q", "-m", message, "--date=2026-03-04T05:06:07+05:30"], in: box.clone,
                    environment: ["GIT_COMMITTER_DATE": "2026-03-05T01:02:03-08:00"])
        let commit = try box.git(["rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // info/attributes on the server wins over the tree.
        try "*.cfg text eol=crlf\n".write(toFile: box.server + "/info/attributes", atomically: true, encoding: .utf8)
        try box.push()
        XCTAssertTrue(try box.waitForNote(commit).contains(" Succeeded "))

        func compare(_ revision: String, _ what: String) throws -> String {
            let ours = box.root + "/ours-\(what).zip", theirs = box.root + "/theirs-\(what).zip"
            try box.pipeline(["archive", revision, "-o", ours])
            try box.git(["archive", "--format=zip", "-o", theirs, revision], in: box.server)
            let a = try box.run("python3", ["-c", Self.zipListing, ours]).stdout, b = try box.run("python3", ["-c", Self.zipListing, theirs]).stdout
            XCTAssertEqual(a, b, "\(what): the SourceArtifact differs from git archive")
            let extract = box.root + "/theirs-\(what)"
            try box.run("python3", ["-c", "import zipfile, sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])", theirs, extract])
            return b
        }
        let listed = try compare(commit, "attributes")
        for ignored in ["tests/", "docs/", "debug.log", "sub/drop.log"] { XCTAssertFalse(listed.contains(" " + ignored), "\(ignored):\n\(listed)") }
        for kept in ["sub/keep.log", "dir  vendor/lib/", "dir  sub/deeper/", "VERSION"] { XCTAssertTrue(listed.contains(kept), "\(kept):\n\(listed)") }
        let extracted = box.root + "/theirs-attributes"
        let version = try String(contentsOfFile: extracted + "/VERSION", encoding: .utf8)
        XCTAssertTrue(version.contains("commit \(commit) \(commit.prefix(7)) "), version)
        XCTAssertTrue(version.contains("|Wed Mar 4 05:06:07 2026 +0530|"), version)
        XCTAssertTrue(version.contains("subject Subject line   continues\n"), version)
        XCTAssertEqual(try String(contentsOfFile: extracted + "/run.bat", encoding: .utf8), "@echo off\r\necho one\r\necho two\r\n")

        // The workspace holds the same bytes as the zip.
        let log = try box.pipeline(["logs", "server#1", "--action", "Quick"]).stdout
        let workspace = log.split(separator: "\n").filter { $0.hasPrefix("dir  ") || ($0.count > 66 && $0.dropFirst(64).hasPrefix("  ")) }
            .map(String.init).sorted()
        let expected = listed.split(separator: "\n").map { line -> String in
            line.hasPrefix("dir  ") ? String(line) : String(line[..<line.lastIndex(of: " ")!])
        }.sorted()
        XCTAssertEqual(workspace, expected, "the workspace differs from the archive:\n\(log)")

        // The same tree in another commit: export-subst makes another zip, which git archive agrees with.
        try box.run("git", ["commit", "-q", "--allow-empty", "-m", "same tree"], in: box.clone, environment: ["GIT_COMMITTER_DATE": "2026-03-06T00:00:00Z"])
        let again = try box.git(["rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try box.push()
        let digests = try [commit, again].map { c in
            try XCTUnwrap(try box.waitForNote(c).split(separator: "\n").first { $0.contains("SourceArtifact sha256:") }.map(String.init), c)
        }
        XCTAssertNotEqual(digests[0], digests[1], "export-subst: the second commit must not reuse the first one's zip")
        _ = try compare(again, "same-tree")

        // core.autocrlf on the server converts text files without attributes too.
        try box.git(["config", "core.autocrlf", "true"], in: box.server)
        _ = try compare(commit, "autocrlf")
    }

    func testALiveRunnerRecordsThePushForTheHook() throws {
        let box = try Sandbox()
        try box.git(["config", "pipeline.runnerIdleSeconds", "30"], in: box.server)
        let first = try box.commit("one", files: [".pipeline.yml": Self.twoStages])
        // No runner yet: the hook journals the push and starts one, which records it.
        let cold = try box.push()
        XCTAssertTrue(cold.stderr.contains("remote: git-pipeline: main@\(first.prefix(7)) recorded; the runner is starting and will queue its pipelines — " +
                                           "results: git log --notes=ci -1 \(first.prefix(7))"), cold.stderr)
        XCTAssertFalse(cold.stderr.contains("queued for"), cold.stderr)
        _ = try box.waitForNote(first)
        XCTAssertTrue(FileManager.default.fileExists(atPath: box.server + "/pipeline/hook.sock"))
        let second = try box.commit("two")
        let push = try box.push()
        XCTAssertTrue(push.stderr.contains("remote: git-pipeline: app #2 queued for main@\(second.prefix(7))"), push.stderr)
        XCTAssertTrue(try box.waitForNote(second).hasPrefix("app #2 Succeeded"))
        let log = try String(contentsOfFile: box.server + "/pipeline/runner.log", encoding: .utf8)
        XCTAssertTrue(log.contains("hook service recorded 1 execution of a push"), log)
        // A push with a new definition, answered by the runner, which parses it first.
        let third = try box.commit("three", files: [".pipelines/extra.yml": Self.twoStages.replacingOccurrences(of: "name: app", with: "name: extra")])
        let push3 = try box.push()
        XCTAssertTrue(push3.stderr.contains("app #3 queued") && push3.stderr.contains("extra #1 queued"), push3.stderr)
        XCTAssertTrue(try box.waitForNote(third, blocks: 2).contains("extra #1 Succeeded"))
        try box.git(["config", "pipeline.runnerIdleSeconds", "1"], in: box.server)
        // The runner reads its idle time at start: stop it so the sandbox can go.
        let pids = try box.run("pgrep", ["-f", "runner --git-dir \(box.server)"], allowFailure: true).stdout.split(separator: "\n")
        for pid in pids { kill(pid_t(pid)!, SIGTERM) }
    }

    func testExistingPostReceiveHookStillRuns() throws {
        let box = try Sandbox(install: false)
        let marker = box.root + "/old-hook-ran"
        try "#!/bin/sh\nwhile read old new ref; do echo \"$ref\" >> '\(marker)'; done\necho old hook says hi\nexit 1\n"
            .write(toFile: box.server + "/hooks/post-receive", atomically: true, encoding: .utf8)
        chmod(box.server + "/hooks/post-receive", 0o755)
        try box.run(Sandbox.binary, ["install", box.server])
        try box.run(Sandbox.binary, ["install", box.server])  // idempotent: still one chained hook
        try box.git(["config", "pipeline.runnerIdleSeconds", "1"], in: box.server)
        let commit = try box.commit("one", files: [".pipeline.yml": Self.twoStages])
        let push = try box.push()
        XCTAssertTrue(push.stderr.contains("old hook says hi"), push.stderr)
        XCTAssertTrue(Sandbox.saysRecorded(push, commit), push.stderr)
        XCTAssertEqual(try String(contentsOfFile: marker, encoding: .utf8), "refs/heads/main\n")
        XCTAssertTrue(try box.waitForNote(commit).hasPrefix("app #1 Succeeded"))
        let doctor = try box.pipeline(["doctor"])
        XCTAssertTrue(doctor.stdout.contains("ok: hook"), doctor.stdout)
        try box.run(Sandbox.binary, ["uninstall", box.server])
        XCTAssertTrue(try String(contentsOfFile: box.server + "/hooks/post-receive", encoding: .utf8).contains("old hook says hi"))
    }

    func testPushReturnsBeforeSlowActionFinishes() throws {
        let box = try Sandbox()
        let slow = Sandbox.quickPipeline("sleep 5")
        let commit = try box.commit("slow", files: [".pipeline.yml": slow])
        let started = Date()
        try box.push()
        let pushSeconds = Date().timeIntervalSince(started)
        XCTAssertLessThan(pushSeconds, 3, "the push waited for the action")
        XCTAssertFalse(try box.note(commit).contains("Succeeded"))
        let note = try box.waitForNote(commit)
        XCTAssertTrue(note.contains("Succeeded"), note)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 5)
    }

    func testTwoHundredExecutionsLeaveNotesTreeWithFanout() throws {
        let box = try Sandbox()
        let quick = Sandbox.quickPipeline("true")
        try box.commit("base", files: [".pipeline.yml": quick])
        var refspecs: [String] = []
        var commits: [String] = []
        for i in 0..<200 {
            let id = try box.git(["commit-tree", "HEAD^{tree}", "-p", "HEAD", "-m", "commit \(i)"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            commits.append(id)
            refspecs.append("\(id):refs/heads/b\(i)")
        }
        let push = try box.push(refspecs)
        // No runner answered: the hook's own line for each of the 200 branches.
        XCTAssertEqual(push.stderr.components(separatedBy: " recorded; the runner is starting").count - 1, 200, push.stderr)
        for commit in commits { _ = try box.waitForNote(commit, timeout: 180) }
        let top = try box.git(["ls-tree", "refs/notes/ci"], in: box.server).stdout.split(separator: "\n")
        XCTAssertFalse(top.isEmpty)
        XCTAssertTrue(top.allSatisfy { $0.contains(" tree ") && $0.split(separator: "\t").last!.count == 2 }, "expected ab/ fanout:\n\(top.prefix(5))")
        // git itself reads every note through the fanout.
        let listed = try box.git(["notes", "--ref=ci", "list"], in: box.server).stdout.split(separator: "\n")
        XCTAssertEqual(listed.count, 200)
    }
}
