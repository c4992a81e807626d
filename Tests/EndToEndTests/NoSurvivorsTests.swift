import Foundation
import XCTest

/// No process an action started outlives it (issue 11, item 6): five kinds of daemon — a setsid
/// nohup one, one that makes its own process group, one that also clears its environment, a double
/// fork, one that ignores SIGTERM — are gone after every ending: success, failure, timeout, stop,
/// stop --abandon, and a killed runner with its recovery. In the sandbox (its pid namespace) and
/// without it (a cgroup of the action's own).
final class NoSurvivorsTests: XCTestCase {
    enum Ending: String, CaseIterable { case success, failure, timeout, stop, abandon, runnerCrash }

    /// The five daemons, each a sleep of its own length `tag*10+k`, found by that in /proc.
    static func daemons(_ tag: Int) -> [String] {
        [
            "setsid nohup sleep \(tag * 10 + 1) >/dev/null 2>&1 &",
            "perl -e 'setpgrp(0, 0); exec \"sleep\", \"\(tag * 10 + 2)\"' >/dev/null 2>&1 &",
            "env -i setsid sleep \(tag * 10 + 3) >/dev/null 2>&1 &",
            "( ( sleep \(tag * 10 + 4) >/dev/null 2>&1 & ) & )",
            "( trap '' TERM HUP; exec sleep \(tag * 10 + 5) ) >/dev/null 2>&1 &",
        ]
    }

    /// The live (not zombie) daemons of `tag`.
    static func alive(_ tag: Int) -> [String] {
        let lengths = Set((1...5).map { String(tag * 10 + $0) })
        var found: [String] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where entry.first?.isNumber == true {
            guard let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")"), stat[stat.index(after: close)...].split(separator: " ").first != "Z" else { continue }
            let words = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if words.contains(where: lengths.contains) { found.append("\(entry): " + words.joined(separator: " ")) }
        }
        return found
    }

    func waitFor(_ description: String, timeout: Double = 20, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return }
            usleep(50_000)
        }
        throw SandboxError(message: "\(description) within \(timeout)s")
    }

    func run(_ ending: Ending, sandbox: Bool) throws {
        let box = try Sandbox()
        if !sandbox { try box.git(["config", "pipeline.sandbox", "false"], in: box.server) }
        let tag = Int.random(in: 10_000...99_999)
        let hold: String
        switch ending {
        // Long enough for a scan of /proc on a loaded machine to see all five before the action ends.
        case .success, .stop: hold = "sleep 3"
        case .failure: hold = "sleep 3; exit 4"
        case .timeout, .abandon, .runnerCrash: hold = "sleep 60"
        }
        let script = (["#!/bin/bash"] + Self.daemons(tag) + [hold]).joined(separator: "\n") + "\n"
        let definition: String
        if ending == .timeout {
            // The shortest timeout an action has: an appspec hook's, in seconds.
            definition = Fixture.pipeline(stages: Fixture.stage("Deploy", """
                - name: Site
                  category: Deploy
                  provider: Directory
                  inputArtifacts: [SourceArtifact]
                  configuration:
                    Target: \(box.root)/site
                """))
            try box.write(["appspec.yml": "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: daemons.sh\n      timeout: 2\n"])
        } else {
            definition = Fixture.pipeline(stages: Fixture.stage("Build", Fixture.commands("Daemons", ["bash daemons.sh"])))
        }
        let commit = try box.commit("daemons \(ending)", files: [".pipeline.yml": definition, "daemons.sh": script])
        try box.push()
        try waitFor("the five daemons of \(ending) did not all start: \(Self.alive(tag))") { Self.alive(tag).count == 5 }
        switch ending {
        case .success, .failure, .timeout: break
        case .stop: try box.pipeline(["stop", "server#1"])
        case .abandon: try box.pipeline(["stop", "server#1", "--abandon"])
        case .runnerCrash:
            try box.run("pkill", ["-KILL", "-f", "runner --git-dir \(box.server)"], allowFailure: true)
            if sandbox {
                // The sandbox dies with its parent, before any recovery.
                try waitFor("sandboxed daemons outlived the killed runner: \(Self.alive(tag))", timeout: 5) { Self.alive(tag).isEmpty }
            }
            try box.pipeline(["runner"])
        }
        let note = try box.waitForNote(commit)
        let expected = [Ending.success: "Succeeded", .stop: "Stopped", .abandon: "Stopped"][ending] ?? "Failed"
        XCTAssertTrue(note.hasPrefix("server #1 \(expected)"), "\(ending): \(note)")
        try waitFor("after \(ending) (sandbox \(sandbox)) these survived: \(Self.alive(tag))", timeout: 5) { Self.alive(tag).isEmpty }
    }

    func testNothingSurvivesInTheSandbox() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap") else { throw XCTSkip("bubblewrap is not installed (make deps installs it)") }
        for ending in Ending.allCases { try run(ending, sandbox: true) }
    }

    func testNothingSurvivesWithoutTheSandbox() throws {
        guard getuid() == 0 else { throw XCTSkip("a cgroup of the action's own needs a writable cgroup: run as root") }
        for ending in Ending.allCases { try run(ending, sandbox: false) }
    }
}
