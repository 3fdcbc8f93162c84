# Thin wrapper: CMake does the building. `make demo` and `make test` are the README's two
# commands and work on a fresh Debian 12 machine (scripts/install-deps installs what is missing).
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build build-asan demo test test-release test-asan fuzz clean

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

# Every libFuzzer target (tests/fuzz/README.md) for FUZZ_SECONDS each, in a clang build of the
# whole project (ASan + UBSan); fails on the first finding, whose input lands in
# $(BUILD)/fuzz/artifacts/TARGET/. Not part of `make test`, which only replays the corpora.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = fuzz_ocsp_response fuzz_crl fuzz_sip_framer fuzz_ldap_front fuzz_config

fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(BUILD)/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DOCSPGATE_FUZZ=ON -DOCSPGATE_SANITIZE=ON
	cmake --build $(BUILD)/fuzz -j$(JOBS) --target fuzzers
	set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/corpus/$$t $(BUILD)/fuzz/artifacts/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  $(BUILD)/fuzz/tests/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(BUILD)/fuzz/artifacts/$$t/ $(BUILD)/fuzz/corpus/$$t tests/fuzz/corpus/$$t \
	    $$(test -d tests/fuzz/regressions/$$t && echo tests/fuzz/regressions/$$t); \
	done

clean:
	rm -rf $(BUILD)
