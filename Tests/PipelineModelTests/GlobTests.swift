import PipelineModel
import XCTest

final class GlobTests: XCTestCase {
    func testStarStaysWithinOneSegment() {
        XCTAssertTrue(Glob("src/*.swift").matches("src/a.swift"))
        XCTAssertFalse(Glob("src/*.swift").matches("src/x/a.swift"))
        XCTAssertTrue(Glob("release/*").matches("release/1.0"))
        XCTAssertFalse(Glob("release/*").matches("release/1.0/hotfix"))
    }

    func testDoubleStarCrossesSegments() {
        XCTAssertTrue(Glob("src/**").matches("src/x/y/z.c"))
        XCTAssertTrue(Glob("**/*.md").matches("README.md"))
        XCTAssertTrue(Glob("**/*.md").matches("docs/a/b.md"))
        XCTAssertTrue(Glob("out/**").matches("out/greeting.txt"))
        XCTAssertFalse(Glob("out/**").matches("src/out.txt"))
    }

    func testQuestionClassAndBraces() {
        XCTAssertTrue(Glob("v?.0").matches("v1.0"))
        XCTAssertFalse(Glob("v?.0").matches("v10.0"))
        XCTAssertTrue(Glob("v[0-9]*").matches("v2.1"))
        XCTAssertFalse(Glob("v[!0-9]*").matches("v2.1"))
        XCTAssertTrue(Glob("{main,develop}").matches("develop"))
        XCTAssertFalse(Glob("{main,develop}").matches("feature"))
        XCTAssertTrue(Glob("docs/{a,b}/*.md").matches("docs/b/x.md"))
    }

    func testExcludesWin() {
        let filter = PatternFilter(includes: ["**"], excludes: ["docs/**"])
        XCTAssertTrue(filter.matches("src/a.c"))
        XCTAssertFalse(filter.matches("docs/readme.md"))
        XCTAssertTrue(PatternFilter(includes: [], excludes: ["wip/*"]).matches("main"))
    }
}
