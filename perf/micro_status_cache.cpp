// Microbenchmarks of the revocation cache on the handshake path (see perf/README.md).
//
// A connection whose certificate is in the cache costs ocspgate one CertID computation
// (make_cert_id: two SHA-1 digests) and one StatusCache::find_fresh. Target: find_fresh on a
// warm entry ≤ 1 µs.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "ocsp/cert_id.h"
#include "ocsp/status_cache.h"

namespace {

using ocspgate::ocsp::CachedStatus;
using ocspgate::ocsp::CertId;
using ocspgate::ocsp::Clock;
using ocspgate::ocsp::StatusCache;

// A SHA-1 CertID as make_cert_id() builds it: 20-byte hashes and an 8-byte serial
// (tests/pki's random 63-bit serials).
CertId cert_id(std::uint64_t serial) {
    CertId id;
    id.hash_nid = NID_sha1;
    id.issuer_name_hash = std::string(20, '\x11');
    id.issuer_key_hash = std::string(20, '\x22');
    id.serial.resize(8);
    for (int i = 0; i < 8; ++i) id.serial[static_cast<std::size_t>(i)] = static_cast<char>(serial >> (56 - 8 * i));
    return id;
}

CachedStatus good_status(Clock::time_point now) {
    CachedStatus s;
    s.kind = CachedStatus::Kind::good;
    s.source = "http://127.0.0.1:18888";  // a realistic URL: longer than the small-string buffer
    s.fresh_until = now + std::chrono::minutes(5);
    s.stale_until = s.fresh_until;
    return s;
}

// Fills a cache with `entries` good answers; the CertIDs are returned for lookups.
std::vector<CertId> fill(StatusCache& cache, std::size_t entries, Clock::time_point now) {
    std::vector<CertId> ids;
    ids.reserve(entries);
    for (std::size_t i = 0; i < entries; ++i) {
        ids.push_back(cert_id(0x1234567800000000ULL + i * 7919));
        cache.store(ids.back(), good_status(now), now);
    }
    return ids;
}

// One warm entry looked up again and again (the 20-certificate load test's situation).
void BM_FindFreshWarmEntry(benchmark::State& state) {
    StatusCache cache(100000);
    const auto now = Clock::now();
    const auto ids = fill(cache, 1, now);
    for (auto _ : state) benchmark::DoNotOptimize(cache.find_fresh(ids[0], now));
}
BENCHMARK(BM_FindFreshWarmEntry);

// Lookups spread over a full cache of N entries (cache misses in the CPU's caches).
void BM_FindFreshSpread(benchmark::State& state) {
    const auto entries = static_cast<std::size_t>(state.range(0));
    StatusCache cache(entries);
    const auto now = Clock::now();
    const auto ids = fill(cache, entries, now);
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(cache.find_fresh(ids[i], now));
        i = (i + 7919) % entries;
    }
}
BENCHMARK(BM_FindFreshSpread)->Arg(1000)->Arg(100000);

// A CertID not in the cache (the first connection of a certificate).
void BM_FindFreshMiss(benchmark::State& state) {
    StatusCache cache(100000);
    const auto now = Clock::now();
    fill(cache, 1000, now);
    const CertId absent = cert_id(42);
    for (auto _ : state) benchmark::DoNotOptimize(cache.find_fresh(absent, now));
}
BENCHMARK(BM_FindFreshMiss);

// Two worker loops hitting the same warm entry (same shard mutex).
void BM_FindFreshWarmEntryContended(benchmark::State& state) {
    static StatusCache cache(100000);
    static const auto now = Clock::now();
    static const auto ids = fill(cache, 1, now);
    for (auto _ : state) benchmark::DoNotOptimize(cache.find_fresh(ids[0], now));
}
BENCHMARK(BM_FindFreshWarmEntryContended)->Threads(2)->UseRealTime();

// The std::hash<CertId> every lookup computes.
void BM_HashCertId(benchmark::State& state) {
    const CertId id = cert_id(0x1234567890ABCDEFULL);
    for (auto _ : state) benchmark::DoNotOptimize(std::hash<CertId>{}(id));
}
BENCHMARK(BM_HashCertId);

}  // namespace
