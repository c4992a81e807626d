import Foundation
import XCTest

/// Directory deploys with an appspec: releases, the atomic switch of `current`, lifecycle hooks,
/// automatic rollback, `git pipeline rollback`, the ledger.
final class DeployTests: XCTestCase {
    static func definition(target: String) -> String {
        """
        stages:
          - name: Deploy
            actions:
              - name: Site
                category: Deploy
                provider: CodeDeploy
                configuration:
                  ApplicationName: shop
                  DeploymentGroupName: staging
                  Target: \(target)
                  KeepReleases: "2"
        """
    }
    static let appspec = """
        version: 0.0
        os: linux
        files:
          - source: app
            destination: /srv/shop
        permissions:
          - object: /srv/shop/bin
            pattern: "**"
            mode: 750
            type: [file]
        hooks:
          ApplicationStop:
            - location: scripts/hook.sh
          BeforeInstall:
            - location: scripts/hook.sh
          AfterInstall:
            - location: scripts/hook.sh
          ApplicationStart:
            - location: scripts/hook.sh
          ValidateService:
            - location: scripts/validate.sh
              timeout: 30
        """
    static let hook = """
        #!/bin/sh
        echo "$LIFECYCLE_EVENT $DEPLOYMENT_ID $APPLICATION_NAME $DEPLOYMENT_GROUP_NAME" >> "$PIPELINE_DEPLOY_TARGET/hooks.log"
        """
    static let validate = """
        #!/bin/sh
        echo "ValidateService $DEPLOYMENT_ID $APPLICATION_NAME $DEPLOYMENT_GROUP_NAME" >> "$PIPELINE_DEPLOY_TARGET/hooks.log"
        test ! -e "$PIPELINE_DEPLOY_TARGET/current/BROKEN"
        """

    /// A page big enough that a half-written copy would show: a header line, filler, an end line.
    static func page(_ version: String) -> String {
        "version \(version)\n" + String(repeating: "filler line for a page that takes a moment to copy\n", count: 4000) + "END \(version)\n"
    }

    func files(_ version: String, broken: Bool = false) -> [String: String] {
        var files = [
            "appspec.yml": Self.appspec, "scripts/hook.sh": Self.hook, "scripts/validate.sh": Self.validate,
            "app/index.html": Self.page(version), "app/bin/run": "#!/bin/sh\necho run\n",
        ]
        if broken { files["app/BROKEN"] = "yes\n" }
        return files
    }

    func testReleasesSwitchAtomicallyRollBackAutomaticallyAndByCommand() throws {
        let box = try Sandbox()
        let target = box.root + "/site"
        try box.git(["config", "pipeline.runnerIdleSeconds", "5"], in: box.server)
        var commits: [String] = []
        for (index, version) in ["v1", "v2"].enumerated() {
            var files = files(version)
            if index == 0 { files[".pipeline.yml"] = Self.definition(target: target) }
            commits.append(try box.commit(version, files: files))
            try box.git(["update-index", "--chmod=+x", "scripts/hook.sh", "scripts/validate.sh", "app/bin/run"])
            try box.git(["commit", "-q", "--amend", "--no-edit"])
            commits[index] = try box.git(["rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            if index == 1 {
                // From the second deployment on, a reader in a loop must always find a whole release.
                reader = Reader(current: target + "/current")
                reader!.start()
            }
            try box.push()
            let note = try box.waitForNote(commits[index])
            XCTAssertTrue(note.contains(" Succeeded "), note)
        }
        var page = try String(contentsOfFile: target + "/current/index.html", encoding: .utf8)
        XCTAssertTrue(page.hasPrefix("version v2\n"))
        let mode = try FileManager.default.attributesOfItem(atPath: target + "/current/bin/run")[.posixPermissions] as! Int
        XCTAssertEqual(mode, 0o750, "permissions from the appspec")
        let status = try box.pipeline(["status"]).stdout
        XCTAssertTrue(status.contains("deployed to \(target): live: "), status)
        XCTAssertTrue(status.contains("(\(commits[1].prefix(7)), server#2)"), status)
        XCTAssertTrue(status.contains("before: "), status)
        XCTAssertTrue(status.contains("(\(commits[0].prefix(7)), server#1)"), status)

        // Hooks in CodeDeploy's order, with its environment; no ApplicationStop on the first deployment.
        let hooks = try String(contentsOfFile: target + "/hooks.log", encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
        XCTAssertEqual(hooks.prefix(4).map { String($0[0]) }, ["BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"])
        XCTAssertEqual(hooks.dropFirst(4).prefix(5).map { String($0[0]) },
                       ["ApplicationStop", "BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"])
        XCTAssertEqual(hooks[0][2], "shop")
        XCTAssertEqual(hooks[0][3], "staging")

        // A failing ValidateService rolls back automatically: current points at v2's release again.
        var broken = files("v3", broken: true)
        broken.removeValue(forKey: "scripts/hook.sh"); broken.removeValue(forKey: "scripts/validate.sh")
        let third = try box.commit("v3 broken", files: broken)
        try box.push()
        let failed = try box.waitForNote(third)
        XCTAssertTrue(failed.contains(" Failed "), failed)
        XCTAssertTrue(failed.contains("ValidateService failed"), failed)
        XCTAssertTrue(failed.contains("rolled back automatically"), failed)
        page = try String(contentsOfFile: target + "/current/index.html", encoding: .utf8)
        XCTAssertTrue(page.hasPrefix("version v2\n"), String(page.prefix(20)))
        let afterAuto = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["status", "server", "--json"]).stdout.utf8)) as! [String: Any]
        let live = (afterAuto["deployments"] as! [[String: Any]])[0]
        XCTAssertEqual(live["kind"] as? String, "AutomaticRollback")
        XCTAssertEqual(live["revision"] as? String, commits[1])
        XCTAssertEqual(live["execution"] as? String, "server#3")
        // KeepReleases 2 holds after a failure and its automatic rollback: the failed release and the rollback's.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target + "/releases").count, 2)

        // `git pipeline rollback` restores an older release: a ROLLBACK execution of the stage.
        let rolled = try box.pipeline(["rollback", "server", "--stage", "Deploy", "--to", "server#1", "--wait"])
        XCTAssertTrue(rolled.stdout.contains("server #4 Succeeded"), rolled.output)
        page = try String(contentsOfFile: target + "/current/index.html", encoding: .utf8)
        XCTAssertTrue(page.hasPrefix("version v1\n"), String(page.prefix(20)))
        let ledger = try box.pipeline(["status"]).stdout
        XCTAssertTrue(ledger.contains("[Rollback]"), ledger)
        XCTAssertTrue(ledger.contains("(\(commits[0].prefix(7)), server#4)"), ledger)
        let history = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["show", "server#4", "--json"]).stdout.utf8)) as! [String: Any]
        let execution = history["pipelineExecution"] as! [String: Any]
        XCTAssertEqual(execution["executionType"] as? String, "ROLLBACK")
        XCTAssertEqual((execution["rollbackMetadata"] as? [String: Any])?["rollbackTargetPipelineExecutionId"] as? String, try executionId(box, "server#1"))

        reader!.stop()
        XCTAssertGreaterThan(reader!.reads, 100, "the reader did not run during the deployments")
        XCTAssertEqual(reader!.problems, [], "a reader saw a missing or half-written release")
        // KeepReleases 2: older releases are gone (the live and the last successful ones stay).
        let releases = try FileManager.default.contentsOfDirectory(atPath: target + "/releases")
        XCTAssertEqual(releases.count, 2, "\(releases)")
        // The absolute destination lands in the release, and the log says where.
        let log = try box.pipeline(["logs", "server#1", "--action", "Site"]).stdout
        XCTAssertTrue(log.contains("[CodeDeploy] files: app -> \(target)/releases/d-"), log)
        XCTAssertTrue(log.contains("(appspec destination /srv/shop, live as current/)"), log)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/srv/shop/index.html"), "nothing is written outside the target")
    }

    func testRunnerKilledDuringADeploymentLeavesTheLedgerAndCurrentConsistent() throws {
        let box = try Sandbox()
        let target = box.root + "/site"
        // In the target: a deployment's hooks may write nowhere else.
        let started = target + "/in-application-start"
        let appspec = """
            version: 0.0
            os: linux
            files:
              - source: app
                destination: /srv/shop
            hooks:
              ApplicationStart:
                - location: start.sh
            """
        // ApplicationStart of a revision with `slow` in it hangs until the runner is killed.
        let start = "#!/bin/sh\nif [ -e slow ]; then echo started > '\(started)'; sleep 60; fi\n"
        let first = try box.commit("v1", files: [".pipeline.yml": Self.definition(target: target), "appspec.yml": appspec,
                                                  "start.sh": start, "app/index.html": Self.page("v1")])
        try box.git(["update-index", "--chmod=+x", "start.sh"])
        try box.git(["commit", "-q", "--amend", "--no-edit"])
        try box.push()
        XCTAssertTrue(try box.waitForNote(try box.git(["rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)).contains(" Succeeded "), first)

        try box.commit("v2 slow", files: ["slow": "", "app/index.html": Self.page("v2")])
        try box.push()
        _ = try box.waitForFile(started)
        try box.run("pkill", ["-KILL", "-f", "runner --git-dir \(box.server)"], allowFailure: true)
        try box.pipeline(["runner"])
        try box.waitForStatus("server#2", "Failed")
        let state = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["status", "server", "--json"]).stdout.utf8)) as! [String: Any]
        let live = (state["deployments"] as! [[String: Any]])[0]
        XCTAssertEqual(live["execution"] as? String, "server#2", "the switch had happened: v2's release is what is live")
        XCTAssertEqual(live["status"] as? String, "Failed")
        let page = try String(contentsOfFile: target + "/current/index.html", encoding: .utf8)
        XCTAssertTrue(page.hasPrefix("version v2\n") && page.hasSuffix("END v2\n"))

        // The next deployment is not blocked and stops the last successful release (v1).
        try box.commit("v3", files: ["slow": nil, "app/index.html": Self.page("v3")].compactMapValues { $0 })
        try box.git(["rm", "-q", "slow"])
        try box.git(["commit", "-q", "--amend", "--no-edit"])
        try box.push()
        try box.waitForStatus("server#3", "Succeeded")
        XCTAssertTrue(try String(contentsOfFile: target + "/current/index.html", encoding: .utf8).hasPrefix("version v3\n"))
    }

    var reader: Reader?

    func executionId(_ box: Sandbox, _ name: String) throws -> String? {
        let shown = try JSONSerialization.jsonObject(with: Data(try box.pipeline(["show", name, "--json"]).stdout.utf8)) as! [String: Any]
        return (shown["pipelineExecution"] as? [String: Any])?["pipelineExecutionId"] as? String
    }

    /// Reads `current/index.html` in a loop; a read that fails or finds a page without its end is a problem.
    /// @unchecked: `running`, `reads` and `problems` change under `lock`; the thread ends before they are read.
    final class Reader: @unchecked Sendable {
        let current: String
        private let lock = NSLock()
        private var running = true
        private(set) var reads = 0
        private(set) var problems: [String] = []
        private let done = DispatchSemaphore(value: 0)

        init(current: String) { self.current = current }

        func start() {
            Thread.detachNewThread { [self] in
                while lock.withLock({ running }) {
                    if let page = try? String(contentsOfFile: current + "/index.html", encoding: .utf8) {
                        let version = page.split(separator: "\n").first.map { $0.replacingOccurrences(of: "version ", with: "") } ?? "?"
                        if !page.hasSuffix("END \(version)\n") { lock.withLock { problems.append("half-written page of \(version)") } }
                    } else {
                        lock.withLock { problems.append("no page at \(current)/index.html") }
                    }
                    lock.withLock { reads += 1 }
                }
                done.signal()
            }
        }

        func stop() {
            lock.withLock { running = false }
            done.wait()
        }
    }
}
