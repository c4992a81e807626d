import Foundation
import XCTest

/// What the commands print for people: nothing cut, nothing that contradicts itself.
final class CLIOutputTests: XCTestCase {
    func testHistoryShowsALongPipelineNameWithItsNumber() throws {
        let box = try Sandbox()
        let name = "a-pipeline-with-a-rather-long-name"
        try box.commit("one", files: [".pipeline.yml": Fixture.pipeline("name: \(name)", stages: Fixture.quickStage())])
        try box.push()
        try box.waitForStatus("\(name)#1", "Succeeded")
        let history = try box.pipeline(["history"]).stdout
        XCTAssertTrue(history.hasPrefix("\(name) #1 Succeeded"), history)
    }
}
