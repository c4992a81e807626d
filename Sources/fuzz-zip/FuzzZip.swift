import FuzzDriver
import PipelineEngine

// libFuzzer target for the zip reader, which reads artifacts an action could have written: each
// input goes through every check the runner makes before it extracts (ZipFuzzing.read). A bad zip
// must end in an error; a trap, a crash or a hang is a finding. `make fuzz` runs it.
@main
struct FuzzZip {
    static func main() { fuzzMain(ZipFuzzing.read) }
}
