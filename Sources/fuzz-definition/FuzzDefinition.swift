import Foundation
import PipelineModel

// libFuzzer target for the parsers of what a push brings: .pipeline.yml (YAML or JSON), buildspec.yml
// and appspec.yml. Each input is parsed as all three; an error is the right answer to bad input, a
// trap or crash is a finding. Built as fuzz-zip is (see there).

func parseAll(_ bytes: Data) {
    let text = String(decoding: bytes, as: UTF8.self)
    _ = try? DefinitionParser.parse(text, file: ".pipeline.yml", defaultName: "fuzz")
    _ = try? DefinitionParser.parse(text, file: ".pipeline.json", defaultName: "fuzz")
    _ = try? BuildspecParser.parse(text, file: "buildspec.yml")
    _ = try? AppspecParser.parse(text, file: "appspec.yml")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDefinition(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    parseAll(Data(bytes: data, count: size))
    return 0
}

#if FUZZING
/// libFuzzer's driver (SwiftPM links its own `main`, so libFuzzer's is not used).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt
#endif

@main
struct ReplayDefinition {
    static func main() {
#if FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, { fuzzDefinition($0, $1) }))
#else
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            parseAll(data)
            print("ok \(path)")
        }
#endif
    }
}
