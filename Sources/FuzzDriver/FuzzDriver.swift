import Foundation

// The one main of every fuzz target. Built for `make fuzz` (-sanitize=fuzzer -DFUZZING) it hands
// `body` to libFuzzer's driver (SwiftPM links its own `main`, so libFuzzer's is not used); in the
// normal build it is a replayer: each file named on the command line goes through `body` once (how
// a finding is checked, and how the regression tests run).

nonisolated(unsafe) private var fuzzBody: (Data) -> Void = { _ in }

#if FUZZING
/// libFuzzer's objects refer to this entry point even when its driver is given a callback.
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzBody(data.map { Data(bytes: $0, count: size) } ?? Data())
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                                 _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
#endif

public func fuzzMain(_ body: @escaping (Data) -> Void) -> Never {
    fuzzBody = body
#if FUZZING
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput))
#else
    for path in CommandLine.arguments.dropFirst() {
        guard let data = FileManager.default.contents(atPath: path) else {
            print("cannot read \(path)")
            exit(1)
        }
        body(data)
        print("ok \(path)")
    }
    exit(0)
#endif
}
