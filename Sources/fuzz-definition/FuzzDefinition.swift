import Foundation
import FuzzDriver
import PipelineModel

// libFuzzer target for the parsers of what a push brings: each input is parsed as .pipeline.yml,
// .pipeline.json, buildspec.yml and appspec.yml. An error is the right answer to bad input; a trap
// or a crash is a finding. `make fuzz` runs it.
@main
struct FuzzDefinition {
    static func main() {
        fuzzMain { bytes in
            let text = String(decoding: bytes, as: UTF8.self)
            _ = try? DefinitionParser.parse(text, file: ".pipeline.yml", defaultName: "fuzz")
            _ = try? DefinitionParser.parse(text, file: ".pipeline.json", defaultName: "fuzz")
            _ = try? BuildspecParser.parse(text, file: "buildspec.yml")
            _ = try? AppspecParser.parse(text, file: "appspec.yml")
        }
    }
}
