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

# The end-to-end tests drive the built binary, so build it before testing.
test: deps
	$(SWIFT) build
	$(SWIFT) test

bench: release
	@sh scripts/bench.sh "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/git-pipeline"

clean:
	rm -rf .build
