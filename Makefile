# The two commands: `make demo` (a real push on a demo project) and `make test` (every test).
SWIFT ?= swift
RELEASE_FLAGS = -c release --static-swift-stdlib

.PHONY: deps build release demo test bench install fuzz clean

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
	$(SWIFT) build --product generate-manual
	$(SWIFT) test --disable-swift-testing

# The binaries, the man page (`man git-pipeline`, `git help pipeline`) and bash, zsh and fish
# completions (`git pipeline <TAB>` too), under PREFIX; DESTDIR for packaging.
PREFIX ?= /usr/local
install: release
	$(SWIFT) build $(RELEASE_FLAGS) --product generate-manual
	@sh scripts/install.sh "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)" "$(PREFIX)"

bench: release
	@sh scripts/bench.sh "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/git-pipeline"

clean:
	rm -rf .build

# libFuzzer on the zip reader and the definition parsers, each for FUZZ_SECONDS (its own build
# folder: the instrumented build must not replace the normal one). Findings land in fuzz/findings/;
# commit a crashing input under Tests/Fuzz/regressions/ (the unit tests replay every file there).
FUZZ_SECONDS ?= 120
FUZZ_FLAGS = --build-path .build/fuzz -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING
fuzz: deps
	$(SWIFT) build $(FUZZ_FLAGS) --product fuzz-zip
	$(SWIFT) build $(FUZZ_FLAGS) --product fuzz-definition
	@sh scripts/fuzz.sh "$$($(SWIFT) build $(FUZZ_FLAGS) --show-bin-path)" $(FUZZ_SECONDS)
