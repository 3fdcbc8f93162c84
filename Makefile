# Thin wrapper: CMake does the building. `make demo` and `make test` are the README's two
# commands and work on a fresh Debian 12 machine (scripts/install-deps installs what is missing).
BUILD ?= build
JOBS ?= $(shell nproc)
# ccache (installed by scripts/install-deps) makes repeated builds cheap, and with
# CCACHE_NOHASHDIR the package build reuses what the release build compiled.
LAUNCHER = $(if $(shell command -v ccache),-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
export CCACHE_NOHASHDIR = 1
# Warnings as errors: off for users (a newer compiler's new warning must not break their
# build), on in CI (.ci/run: make test WERROR=ON).
WERROR ?= OFF
CMAKE_FLAGS = $(LAUNCHER) -DOCSPGATE_WERROR=$(WERROR)
# The main build's type: RelWithDebInfo for users and `make demo`; CI builds Release.
BUILD_TYPE ?= RelWithDebInfo

.PHONY: all deps build build-asan demo test test-release test-asan fuzz fuzz-ci clean
.PHONY: container-test package package-test oracle interop test-clang build-matrix perf-fleet perf-crl-swap

all: build

deps:
	scripts/install-deps

build: deps
	cmake -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)
	cmake --build $(BUILD)/release -j$(JOBS)

build-asan: deps
	cmake -S . -B $(BUILD)/asan -DCMAKE_BUILD_TYPE=Debug -DOCSPGATE_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD)/asan -j$(JOBS)

demo: build
	scripts/demo

# Every test: the release build, again under AddressSanitizer + UBSan, the unit tests of a
# clang Debug build, every fuzz target for 60 s, the container image and Kubernetes sidecar
# under Podman, and the Debian package.
test: test-release test-asan test-clang fuzz-ci container-test package-test

test-release: build
	cd $(BUILD)/release && ctest --output-on-failure -j2

test-asan: build-asan
	cd $(BUILD)/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j2

# The second compiler: clang, Debug, every target, the unit tests (integration tests run in the
# g++ builds above).
test-clang: deps
	CC=clang CXX=clang++ cmake -S . -B $(BUILD)/clang -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)
	cmake --build $(BUILD)/clang -j$(JOBS)
	cd $(BUILD)/clang && ctest --output-on-failure -j2 -LE integration

# Every build type with both compilers, each built whole and its unit tests run, `None` with
# dpkg-buildflags as Debian packaging builds it (scripts/build-matrix): about an hour here.
build-matrix: deps
	mkdir -p $(BUILD)/matrix
	scripts/build-matrix $(BUILD) $(CMAKE_FLAGS)

# The concurrency oracle (tests/integration/test_concurrency_oracle.py) at length: more rounds
# and clients than CI's fixed-seed pass, with a random seed, printed first so a failure replays
# (OCSPGATE_ORACLE_SEED=N make oracle).
ORACLE_ROUNDS ?= 5
ORACLE_CLIENTS ?= 48
oracle: build
	@seed=$${OCSPGATE_ORACLE_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; echo "oracle seed: $$seed"; \
	cd tests/integration && OCSPGATE_BIN=$(CURDIR)/$(BUILD)/release/proxy/ocspgate OCSPGATE_ORACLE_SEED=$$seed \
	  OCSPGATE_ORACLE_ROUNDS=$(ORACLE_ROUNDS) OCSPGATE_ORACLE_CLIENTS=$(ORACLE_CLIENTS) \
	  /usr/bin/python3 -m pytest -q -p no:cacheprovider test_concurrency_oracle.py

# The interop suite (tests/integration/test_interop.py) whole: OpenSSL, GnuTLS, NSS, Java JSSE and
# Python clients x RSA 2048/4096, ECDSA P-256/P-384, Ed25519, RSA-PSS client certificates x TLS
# 1.2/1.3 x IPv4/IPv6 x chain depth 2/3, good and revoked: 480 cases, about 3 min here. ctest
# runs a representative slice; this writes the table of outcomes to $(BUILD)/interop-results.txt
# and prints it.
interop: build
	@rm -f $(BUILD)/interop-results.txt; cd tests/integration && OCSPGATE_BIN=$(CURDIR)/$(BUILD)/release/proxy/ocspgate OCSPGATE_INTEROP=full \
	  OCSPGATE_INTEROP_REPORT=$(CURDIR)/$(BUILD)/interop-results.txt \
	  /usr/bin/python3 -m pytest -q -p no:cacheprovider test_interop.py; status=$$?; \
	  cat $(CURDIR)/$(BUILD)/interop-results.txt 2>/dev/null; exit $$status

# The large-CRL benchmark (#18 point 6, perf/README.md): handshakes/s and p50/p99 before and
# while a 20 MB CRL of 500 000 entries is downloaded again and swapped in, and ocspgate's RSS per
# CRL entry. A Release build of the three programs it runs, then perf/crl_swap (about 2.5 min,
# loopback only; the server's loop on CPU 1, the load on CPU 0; needs python3-cryptography, which
# `scripts/install-deps perf` installs, Debian's python3 usually has). CRL_SWAP_ARGS: e.g.
# --cycles 10, or --entries 1000 for the control run.
CRL_SWAP_ARGS ?=
perf-crl-swap: deps
	cmake -S . -B $(BUILD)/perf-release -DCMAKE_BUILD_TYPE=Release -DOCSPGATE_TESTS=OFF $(CMAKE_FLAGS)
	cmake --build $(BUILD)/perf-release -j$(JOBS) --target ocspgate ocspgate-load ocspgate-echo
	perf/crl_swap --build-dir $(BUILD)/perf-release $(CRL_SWAP_ARGS)

# Every libFuzzer target (tests/fuzz/README.md) for FUZZ_SECONDS each, one per core at a time
# (tests/fuzz/run), in a clang build of the fuzzers (ASan + UBSan); fails on any finding (a
# crash, a leak, a hang over 10 s), whose input lands in $(BUILD)/fuzz/artifacts/TARGET/.
# `make test` runs it for 60 s per target (fuzz-ci); ctest itself only replays the corpora.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = fuzz_ocsp_response fuzz_http_response fuzz_crl fuzz_sip_framer fuzz_ldap_front \
  fuzz_admin_request fuzz_config fuzz_proxy_protocol fuzz_record13

fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(BUILD)/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DOCSPGATE_FUZZ=ON -DOCSPGATE_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD)/fuzz -j$(JOBS) --target fuzzers
	tests/fuzz/run $(BUILD)/fuzz $(FUZZ_SECONDS) $(JOBS) $(FUZZ_TARGETS)

fuzz-ci:
	$(MAKE) fuzz FUZZ_SECONDS=$$(( $(FUZZ_SECONDS) < 60 ? 60 : $(FUZZ_SECONDS) ))

# The container image (docker/Dockerfile) and the Kubernetes sidecar (docker/k8s-sidecar.yaml)
# under Podman, as root: scripts/container-base sets the machine up (idempotent), then
# tests/container builds the images (layers cached between runs) and runs them on loopback.
container-test: deps
	scripts/container-base
	/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/container

# The Debian package: $(BUILD)/package/ocspgate_<version>_amd64.deb (scripts/package/package.cmake).
# Builds only what it packages (cpack would otherwise build every target first, perf tools too).
package: deps
	cmake -S . -B $(BUILD)/package -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOCSPGATE_TESTS=OFF \
	  -DCMAKE_INSTALL_PREFIX=/usr -DOCSPGATE_CONFIG_DIR=/etc/ocspgate -DOCSPGATE_SYSTEMD_UNIT_DIR=/lib/systemd/system -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON
	cmake --build $(BUILD)/package -j$(JOBS) --target ocspgate man_page
	cd $(BUILD)/package && rm -f ocspgate_*.deb && cpack -G DEB

# As root: dpkg -i, checks, the demo against /usr/bin/ocspgate, dpkg --purge (tests/package);
# then the unit under a real systemd, booted in a Podman container (skipped without Podman).
package-test: package
	tests/package/deb-test $(BUILD)/package/ocspgate_*.deb
	tests/package/unit-test $(BUILD)/package/ocspgate_*.deb

# The fleet benchmark (perf/README.md "The fleet"): 8 instances starting at once, 2 000 new
# client certificates each, one responder 20 ms away; without the shared cache, with it, with
# it and the lease; then the cost of a shared-cache hit. Needs redis-server; a few minutes.
perf-fleet: build
	perf/fleet --build $(BUILD)/release --json $(BUILD)/perf-fleet.json

clean:
	rm -rf $(BUILD)
