import Foundation

/// Test pipelines assembled from named pieces, so that each scenario writes only what is special
/// about it and the common stages (a quick build, the Deploy/Ship stage) stand in one place.
enum Fixture {
    /// A Commands action; `more` holds further lines of it (outputArtifacts, …), indented as its keys.
    static func commands(_ name: String, _ commands: [String], category: String = "Build", more: [String] = []) -> String {
        (["- name: \(name)", "  category: \(category)", "  provider: Commands",
          "  commands: [" + commands.map(Sandbox.jsonString).joined(separator: ", ") + "]"] + more.map { "  " + $0 })
            .joined(separator: "\n")
    }

    /// A stage with its actions (each a fragment such as `commands(…)` returns).
    static func stage(_ name: String, _ actions: String...) -> String {
        "- name: \(name)\n  actions:\n" + actions.map { indent($0, by: 4) }.joined(separator: "\n")
    }

    /// A definition: optional top-level lines (name, executionMode, triggers), then its stages.
    static func pipeline(_ header: String = "", stages: String...) -> String {
        (header.isEmpty ? "" : header + "\n") + "stages:\n" + stages.map { indent($0, by: 2) }.joined(separator: "\n") + "\n"
    }

    /// Build/Quick running one command: the stage most scenarios start with.
    static func quickStage(_ command: String = "echo built") -> String { stage("Build", commands("Quick", [command])) }

    /// Deploy/Ship: the stage that must (or must not) run after the one under test.
    static let shipStage = stage("Deploy", commands("Ship", ["echo shipping"]))

    private static func indent(_ text: String, by count: Int) -> String {
        let pad = String(repeating: " ", count: count)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { pad + $0 }.joined(separator: "\n")
    }
}
