# The two commands: `make demo` (a real push on a demo project) and `make test` (every test).
SWIFT ?= swift
RELEASE_FLAGS = -c release --static-swift-stdlib

.PHONY: deps build release demo test bench clean

deps:
	@sh scripts/ensure-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build $(RELEASE_FLAGS)

demo: release
	@sh scripts/demo.sh "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/git-pipeline"

# The end-to-end tests drive the built binaries, so build them before testing. The tests are
# XCTest's; Swift Testing would only add a closing line about zero tests.
test: deps
	$(SWIFT) build
	$(SWIFT) test --disable-swift-testing

bench: release
	@sh scripts/bench.sh "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/git-pipeline"

clean:
	rm -rf .build
