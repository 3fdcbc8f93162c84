#include "ocsp/status_cache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace ocspgate::ocsp {
namespace {

using namespace std::chrono_literals;
using Kind = CachedStatus::Kind;

// Every test passes its own time points; t0 is arbitrary.
const Clock::time_point t0 = Clock::from_time_t(1'900'000'000);
constexpr const char* responder = "http://ocsp.test/";

CertId cert_id(std::string serial = std::string("\x10\x01", 2)) {
    return CertId{NID_sha1, "issuer-name-hash", "issuer-key-hash", std::move(serial)};
}

CachedStatus entry(Kind kind, Clock::time_point fresh_until, Clock::time_point stale_until = {}) {
    CachedStatus s;
    s.kind = kind;
    s.source = responder;
    s.fresh_until = fresh_until;
    s.stale_until = stale_until;
    return s;
}

CachedStatus good_until(Clock::time_point fresh_until, Clock::time_point stale_until) {
    return entry(Kind::good, fresh_until, stale_until);
}

CachedStatus error_until(Clock::time_point fresh_until) {
    CachedStatus s = entry(Kind::error, fresh_until);
    s.source = "ocsp";
    s.detail = "timeout";
    return s;
}

// The cache splits its capacity over 16 shards (StatusCache::kShards) and keeps LRU order per
// shard, so entries compete for slots only within a shard: eviction tests use ids of one shard.
constexpr std::size_t kShards = 16;
constexpr std::size_t kTwoPerShard = 2 * kShards;

std::vector<CertId> ids_in_one_shard(std::size_t count) {
    std::vector<CertId> ids;
    const std::size_t shard = std::hash<CertId>{}(cert_id("0")) % kShards;
    for (unsigned serial = 0; ids.size() < count; ++serial) {
        CertId id = cert_id(std::to_string(serial));
        if (std::hash<CertId>{}(id) % kShards == shard) ids.push_back(id);
    }
    return ids;
}

TEST(StatusCache, UnknownIdIsAMiss) {
    StatusCache cache(100);
    EXPECT_EQ(cache.find_fresh(cert_id(), t0), std::nullopt);
}

TEST(StatusCache, EntryIsFreshBeforeFreshUntil) {
    StatusCache cache(100);
    cache.store(cert_id(), good_until(t0 + 1h, t0 + 24h), t0);
    const auto hit = cache.find_fresh(cert_id(), t0 + 59min);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->kind, Kind::good);
    EXPECT_EQ(hit->source, responder);
}

TEST(StatusCache, EntryIsExpiredAtFreshUntil) {
    StatusCache cache(100);
    cache.store(cert_id(), good_until(t0 + 1h, t0 + 24h), t0);
    EXPECT_EQ(cache.find_fresh(cert_id(), t0 + 1h), std::nullopt);
}

TEST(StatusCache, LeastRecentlyStoredEntryIsEvictedAtCapacity) {
    StatusCache cache(kTwoPerShard);
    const auto ids = ids_in_one_shard(3);
    for (const CertId& id : ids) cache.store(id, good_until(t0 + 1h, t0 + 24h), t0);
    EXPECT_EQ(cache.find_fresh(ids[0], t0), std::nullopt);
    EXPECT_TRUE(cache.find_fresh(ids[1], t0));
    EXPECT_TRUE(cache.find_fresh(ids[2], t0));
}

TEST(StatusCache, LookupKeepsAnEntryOverLessRecentlyUsedOnes) {
    StatusCache cache(kTwoPerShard);
    const auto ids = ids_in_one_shard(3);
    cache.store(ids[0], good_until(t0 + 1h, t0 + 24h), t0);
    cache.store(ids[1], good_until(t0 + 1h, t0 + 24h), t0);
    ASSERT_TRUE(cache.find_fresh(ids[0], t0));
    cache.store(ids[2], good_until(t0 + 1h, t0 + 24h), t0);
    EXPECT_TRUE(cache.find_fresh(ids[0], t0));
    EXPECT_EQ(cache.find_fresh(ids[1], t0), std::nullopt);
}

TEST(StatusCache, SizeStaysWithinCapacity) {
    StatusCache cache(kTwoPerShard);
    for (unsigned serial = 0; serial < 10 * kTwoPerShard; ++serial)
        cache.store(cert_id(std::to_string(serial)), good_until(t0 + 1h, t0 + 24h), t0);
    EXPECT_LE(cache.size(), kTwoPerShard);
}

TEST(StatusCache, CachedErrorIsTheFreshAnswerUntilItExpires) {
    StatusCache cache(100);
    cache.store(cert_id(), good_until(t0 + 1h, t0 + 24h), t0);
    cache.store(cert_id(), error_until(t0 + 2h + 5min), t0 + 2h);
    const auto hit = cache.find_fresh(cert_id(), t0 + 2h);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->kind, Kind::error);
    EXPECT_EQ(hit->detail, "timeout");
}

TEST(StatusCache, ErrorKeepsTheLastGoodAnswerForStaleIfError) {
    StatusCache cache(100);
    cache.store(cert_id(), good_until(t0 + 1h, t0 + 24h), t0);
    cache.store(cert_id(), error_until(t0 + 2h + 5min), t0 + 2h);
    const auto stale = cache.find_stale_good(cert_id(), t0 + 2h);
    ASSERT_TRUE(stale);
    EXPECT_EQ(stale->kind, Kind::good);
    EXPECT_EQ(stale->source, responder);
}

TEST(StatusCache, StaleGoodAnswerEndsAtStaleUntil) {
    StatusCache cache(100);
    cache.store(cert_id(), good_until(t0 + 1h, t0 + 24h), t0);
    cache.store(cert_id(), error_until(t0 + 24h + 5min), t0 + 24h);
    EXPECT_EQ(cache.find_stale_good(cert_id(), t0 + 24h), std::nullopt);
}

TEST(StatusCache, ErrorWithoutAnEarlierGoodAnswerHasNoStaleFallback) {
    StatusCache cache(100);
    cache.store(cert_id(), error_until(t0 + 5min), t0);
    EXPECT_EQ(cache.find_stale_good(cert_id(), t0), std::nullopt);
}

TEST(StatusCache, RevokedAnswerEndsTheStaleGrace) {
    StatusCache cache(100);
    cache.store(cert_id(), good_until(t0 + 1h, t0 + 24h), t0);
    cache.store(cert_id(), entry(Kind::revoked, t0 + 3h), t0 + 2h);
    cache.store(cert_id(), error_until(t0 + 3h + 5min), t0 + 3h);
    EXPECT_EQ(cache.find_stale_good(cert_id(), t0 + 3h), std::nullopt);
}

TEST(StatusCache, UnknownAnswerEndsTheStaleGrace) {
    StatusCache cache(100);
    cache.store(cert_id(), good_until(t0 + 1h, t0 + 24h), t0);
    cache.store(cert_id(), entry(Kind::unknown, t0 + 3h), t0 + 2h);
    cache.store(cert_id(), error_until(t0 + 3h + 5min), t0 + 3h);
    EXPECT_EQ(cache.find_stale_good(cert_id(), t0 + 3h), std::nullopt);
}

// The cache is keyed by the whole CertID: ids that share all but one field name other
// certificates (the same serial from another CA, or the same certificate hashed otherwise).
struct OtherId {
    const char* name;
    CertId id;
};

class StatusCacheKey : public ::testing::TestWithParam<OtherId> {};

TEST_P(StatusCacheKey, IdDifferingInOneFieldIsAnotherEntry) {
    StatusCache cache(100);
    cache.store(cert_id(), good_until(t0 + 1h, t0 + 24h), t0);
    EXPECT_EQ(cache.find_fresh(GetParam().id, t0), std::nullopt);
    cache.store(GetParam().id, entry(Kind::revoked, t0 + 1h), t0);
    EXPECT_EQ(cache.size(), 2u);
    const auto original = cache.find_fresh(cert_id(), t0);
    ASSERT_TRUE(original);
    EXPECT_EQ(original->kind, Kind::good);
}

CertId with(void (*change)(CertId&)) {
    CertId id = cert_id();
    change(id);
    return id;
}

INSTANTIATE_TEST_SUITE_P(
    Fields, StatusCacheKey,
    ::testing::Values(
        OtherId{"IssuerKeyHash", with([](CertId& id) { id.issuer_key_hash = "other-key-hash"; })},
        OtherId{"IssuerNameHash", with([](CertId& id) { id.issuer_name_hash = "other-name-hash"; })},
        OtherId{"HashAlgorithm", with([](CertId& id) { id.hash_nid = NID_sha256; })},
        OtherId{"Serial", with([](CertId& id) { id.serial = std::string("\x10\x02", 2); })}),
    [](const ::testing::TestParamInfo<OtherId>& param) { return std::string(param.param.name); });

}  // namespace
}  // namespace ocspgate::ocsp
