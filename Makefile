# Thin wrapper: CMake does the building. `make demo` and `make test` are the README's two
# commands and work on a fresh Debian 12 machine (scripts/install-deps installs what is missing).
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build build-asan demo test test-release test-asan clean

all: build

deps:
	scripts/install-deps

build: deps
	cmake -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD)/release -j$(JOBS)

build-asan: deps
	cmake -S . -B $(BUILD)/asan -DCMAKE_BUILD_TYPE=Debug -DOCSPGATE_SANITIZE=ON
	cmake --build $(BUILD)/asan -j$(JOBS)

demo: build
	scripts/demo

# Every test, in the release build and again under AddressSanitizer + UBSan.
test: test-release test-asan

test-release: build
	cd $(BUILD)/release && ctest --output-on-failure -j2

test-asan: build-asan
	cd $(BUILD)/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j2

clean:
	rm -rf $(BUILD)
