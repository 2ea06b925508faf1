# Thin wrapper over CMake. Every target installs the Debian packages it needs first.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps configure build test demo bench clean

all: build

deps:
	@scripts/install-deps

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@scripts/fetch-scorer >/dev/null; status=$$?; [ $$status -ne 1 ] || exit 1; \
	  [ $$status -eq 0 ] || echo "make test: without the real all-MiniLM-L6-v2 its reference test reports SKIPPED" >&2
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: build
	@scripts/demo $(BUILD)

bench: build
	@cmake --build $(BUILD) --target benches -j $(JOBS)
	@scripts/bench $(BUILD)

clean:
	@rm -rf $(BUILD)
