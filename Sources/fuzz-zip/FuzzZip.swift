import Foundation
import PipelineEngine

// libFuzzer target for the zip reader, which reads artifacts an action could have written.
// `make fuzz` builds it with -sanitize=fuzzer -DFUZZING (libFuzzer gives `main`); the normal build
// makes a replayer: `fuzz-zip FILE…` runs each file once (how a crashing input is checked).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzZip(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    ZipFuzzing.read(Data(bytes: data, count: size))
    return 0
}

#if FUZZING
/// libFuzzer's driver (SwiftPM links its own `main`, so libFuzzer's is not used).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt
#endif

@main
struct ReplayZip {
    static func main() {
#if FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, { fuzzZip($0, $1) }))
#else
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            ZipFuzzing.read(data)
            print("ok \(path)")
        }
#endif
    }
}
