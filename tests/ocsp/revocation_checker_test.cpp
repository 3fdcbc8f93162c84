// Tests for ocsp/revocation_checker: which certificates a chain asks about, decisions from the
// status cache, the counters, request coalescing, cache reuse across a reload, and idle().
// Answers come from the checker's status cache (stored by the test) or from loopback
// responders on a real libuv loop; callbacks only record, the assertions follow run_until().
#include "ocsp/revocation_checker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine_fixtures.h"
#include "loop_runner.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace ocspgate::ocsp {
namespace {

using namespace std::chrono_literals;
using fixtures::Issued;
using fixtures::pki;
using testing::chain_of;
using testing::http_ok;
using testing::LoopbackServer;
using testing::LoopRunner;
using Kind = CachedStatus::Kind;

CertId cert_id(const Issued& cert, const Issued& issuer) { return make_cert_id(cert.get(), issuer.get()).value(); }

CachedStatus fresh(Kind kind) {
    CachedStatus status;
    status.kind = kind;
    status.source = "http://responder.test/";
    status.fresh_until = Clock::now() + 1h;
    return status;
}

class RevocationCheckerTest : public ::testing::Test {
protected:
    RevocationCheckerTest() {
        profile_.name = "test";
        profile_.ocsp.nonce = NonceMode::off;  // canned responses cannot echo a fresh nonce
        profile_.ocsp.timeout = 1000ms;
    }

    void TearDown() override { runner_.shutdown(); }

    std::unique_ptr<RevocationChecker> create(const RevocationChecker* previous = nullptr) {
        auto created = RevocationChecker::create(profile_, previous);
        EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().message);
        return created.ok() ? std::move(created).value() : nullptr;
    }

    RevocationChecker& make_checker() {
        checker_ = create();
        return *checker_;
    }

    void cache_leaf(RevocationChecker& checker, Kind kind) {
        checker.cache().store(cert_id(pki().leaf, pki().issuing), fresh(kind), Clock::now());
    }

    // A responder answering "good" for pki().leaf to every request, as the profile's only one.
    LoopbackServer& serve_good_leaf() {
        auto& server = runner_.serve({http_ok(
            testing::response_now(pki().leaf, pki().issuing, V_OCSP_CERTSTATUS_GOOD, pki().issuing))});
        profile_.ocsp.responders = {server.url()};
        return server;
    }

    std::unique_ptr<CheckHandle> check(std::optional<Decision>& out) {
        return checker_->check(runner_.mailbox(), chain_.get(), deadline_, [&out](Decision d) { out = std::move(d); });
    }

    const CheckerStats& stats() const { return *checker_->counters(); }

    LoopRunner runner_;
    fixtures::TempDir dir_;
    RevocationProfile profile_;
    Deadline deadline_ = no_deadline;  // a handshake's budget, when a test sets one
    std::unique_ptr<RevocationChecker> checker_;
    tls::X509StackPtr chain_ = chain_of({&pki().leaf, &pki().issuing, &pki().root});
};

// --- targets --------------------------------------------------------------------------

TEST_F(RevocationCheckerTest, LeafScopeAsksAboutTheLeafOnly) {
    profile_.check = CheckScope::leaf;
    auto targets = make_checker().targets(chain_.get());
    ASSERT_TRUE(targets.ok());
    ASSERT_EQ(targets->size(), 1u);
    EXPECT_EQ(X509_cmp((*targets)[0].cert.get(), pki().leaf.get()), 0);
    EXPECT_EQ(X509_cmp((*targets)[0].issuer.get(), pki().issuing.get()), 0);
    EXPECT_EQ((*targets)[0].id, cert_id(pki().leaf, pki().issuing));
}

TEST_F(RevocationCheckerTest, ChainScopeAsksAboutEveryCertificateBelowTheAnchor) {
    profile_.check = CheckScope::chain;
    auto targets = make_checker().targets(chain_.get());
    ASSERT_TRUE(targets.ok());
    ASSERT_EQ(targets->size(), 2u);
    EXPECT_EQ((*targets)[0].id, cert_id(pki().leaf, pki().issuing));
    EXPECT_EQ((*targets)[1].id, cert_id(pki().issuing, pki().root));
    EXPECT_EQ(X509_cmp((*targets)[1].issuer.get(), pki().root.get()), 0);
}

TEST_F(RevocationCheckerTest, AnchorAloneHasNothingToAskAbout) {
    chain_ = chain_of({&pki().root});
    auto targets = make_checker().targets(chain_.get());
    ASSERT_TRUE(targets.ok());
    EXPECT_TRUE(targets->empty());
}

// --- decide_cached --------------------------------------------------------------------

TEST_F(RevocationCheckerTest, FreshCachedGoodAnswerAccepts) {
    cache_leaf(make_checker(), Kind::good);
    auto d = checker_->decide_cached(chain_.get());
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->verdict, ChainVerdict::accept);
    EXPECT_EQ(d->status, "good");
    EXPECT_EQ(d->method, "ocsp");
    EXPECT_EQ(d->source, "cache");
}

TEST_F(RevocationCheckerTest, FreshCachedRevokedAnswerRejects) {
    cache_leaf(make_checker(), Kind::revoked);
    auto d = checker_->decide_cached(chain_.get());
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->verdict, ChainVerdict::revoked);
}

TEST_F(RevocationCheckerTest, ExpiredCachedAnswerIsAMiss) {
    make_checker();
    CachedStatus expired = fresh(Kind::good);
    expired.fresh_until = Clock::now() - 1s;
    checker_->cache().store(cert_id(pki().leaf, pki().issuing), expired, Clock::now());
    EXPECT_FALSE(checker_->decide_cached(chain_.get()).has_value());
}

TEST_F(RevocationCheckerTest, NothingCachedIsAMiss) {
    make_checker();
    EXPECT_FALSE(checker_->decide_cached(chain_.get()).has_value());
}

// --- counters -------------------------------------------------------------------------

TEST_F(RevocationCheckerTest, CacheHitCountsALookupAHitAndTheVerdict) {
    cache_leaf(make_checker(), Kind::good);
    (void)checker_->decide_cached(chain_.get());
    EXPECT_EQ(stats().lookups.load(), 1u);
    EXPECT_EQ(stats().cache_hits.load(), 1u);
    EXPECT_EQ(stats().cache_misses.load(), 0u);
    EXPECT_EQ(stats().verdict_accept.load(), 1u);
}

// A handshake probes the cache twice on a miss (decide_cached, then check); the lookup that
// leaves the cache counts it, once.
TEST_F(RevocationCheckerTest, MissInDecideCachedCountsNothing) {
    make_checker();
    (void)checker_->decide_cached(chain_.get());
    EXPECT_EQ(stats().lookups.load(), 0u);
    EXPECT_EQ(stats().cache_misses.load(), 0u);
    EXPECT_EQ(stats().verdict_undetermined.load() + stats().verdict_accept.load(), 0u);
}

TEST_F(RevocationCheckerTest, MissCountsALookupAMissAndOneResponderQuery) {
    auto& responder = serve_good_leaf();
    make_checker();
    std::optional<Decision> decision;
    auto handle = check(decision);
    ASSERT_TRUE(runner_.run_until([&] { return decision.has_value(); }));
    EXPECT_EQ(decision->verdict, ChainVerdict::accept);
    EXPECT_EQ(decision->source, responder.url());
    EXPECT_EQ(stats().lookups.load(), 1u);
    EXPECT_EQ(stats().cache_misses.load(), 1u);
    EXPECT_EQ(stats().cache_hits.load(), 0u);
    EXPECT_EQ(stats().responder_queries.load(), 1u);
    EXPECT_EQ(stats().coalesced.load(), 0u);
}

TEST_F(RevocationCheckerTest, ConcurrentChecksOfOneCertificateShareOneQuery) {
    auto& responder = serve_good_leaf();
    make_checker();
    std::optional<Decision> first, second;
    auto first_handle = check(first);
    auto second_handle = check(second);
    ASSERT_TRUE(runner_.run_until([&] { return first.has_value() && second.has_value(); }));
    EXPECT_EQ(responder.requests(), 1);
    EXPECT_EQ(stats().responder_queries.load(), 1u);
    EXPECT_EQ(stats().coalesced.load(), 1u);
    EXPECT_EQ(stats().cache_misses.load(), 2u);
    EXPECT_EQ(first->verdict, ChainVerdict::accept);
    EXPECT_EQ(second->verdict, ChainVerdict::accept);
}

TEST_F(RevocationCheckerTest, AnsweredQueryIsCachedForTheNextHandshake) {
    serve_good_leaf();
    make_checker();
    std::optional<Decision> decision;
    auto handle = check(decision);
    ASSERT_TRUE(runner_.run_until([&] { return decision.has_value(); }));
    auto again = checker_->decide_cached(chain_.get());
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->verdict, ChainVerdict::accept);
    EXPECT_EQ(again->source, "cache");
    EXPECT_EQ(checker_->cache_entries(), 1u);
    EXPECT_EQ(stats().cache_hits.load(), 1u);
}

TEST_F(RevocationCheckerTest, FailedQueryIsCachedAsAnErrorAndCounted) {
    auto& failing = runner_.serve({testing::http_status(500)});
    profile_.ocsp.responders = {failing.url()};
    make_checker();
    std::optional<Decision> decision;
    auto handle = check(decision);
    ASSERT_TRUE(runner_.run_until([&] { return decision.has_value(); }));
    EXPECT_EQ(decision->verdict, ChainVerdict::undetermined);
    auto again = checker_->decide_cached(chain_.get());
    ASSERT_TRUE(again.has_value()) << "errors are cached for error_cache_ttl";
    EXPECT_EQ(again->verdict, ChainVerdict::undetermined);
    std::lock_guard lock(stats().errors_mutex);
    EXPECT_EQ(stats().responder_errors, (std::map<std::string, std::uint64_t>{{"http_status", 1}}));
}

// --- HTTP Cache-Control max-age (#19, RFC 5019 §6.2): an upper bound on caching ---------

// "good" for pki().leaf (nextUpdate an hour or more away) with `cache_control` as a header.
testing::CannedReply good_leaf_with_cache_control(const std::string& cache_control) {
    auto reply = http_ok(testing::response_now(pki().leaf, pki().issuing, V_OCSP_CERTSTATUS_GOOD, pki().issuing));
    reply.bytes.insert(reply.bytes.find("\r\n") + 2, "Cache-Control: " + cache_control + "\r\n");
    return reply;
}

TEST_F(RevocationCheckerTest, HttpMaxAgeShortensHowLongAnAnswerIsCached) {
    auto& server = runner_.serve({good_leaf_with_cache_control("public, max-age=2")});
    profile_.ocsp.responders = {server.url()};
    make_checker();
    std::optional<Decision> decision;
    auto handle = check(decision);
    ASSERT_TRUE(runner_.run_until([&] { return decision.has_value(); }));
    EXPECT_EQ(decision->verdict, ChainVerdict::accept);
    const CertId id = cert_id(pki().leaf, pki().issuing);
    EXPECT_TRUE(checker_->cache().find_fresh(id, Clock::now()).has_value());
    EXPECT_FALSE(checker_->cache().find_fresh(id, Clock::now() + 3s).has_value()) << "cached past max-age";
}

TEST_F(RevocationCheckerTest, HttpMaxAgeNeverLengthensCaching) {
    auto& server = runner_.serve({good_leaf_with_cache_control("max-age=31536000")});
    profile_.ocsp.responders = {server.url()};
    profile_.ocsp.max_cache_ttl = 60s;
    make_checker();
    std::optional<Decision> decision;
    auto handle = check(decision);
    ASSERT_TRUE(runner_.run_until([&] { return decision.has_value(); }));
    const CertId id = cert_id(pki().leaf, pki().issuing);
    EXPECT_TRUE(checker_->cache().find_fresh(id, Clock::now() + 50s).has_value());
    EXPECT_FALSE(checker_->cache().find_fresh(id, Clock::now() + 61s).has_value()) << "max_cache_ttl still bounds";
}

TEST_F(RevocationCheckerTest, HttpNoCacheLeavesNothingFreshForTheNextHandshake) {
    auto& server = runner_.serve({good_leaf_with_cache_control("no-cache")});
    profile_.ocsp.responders = {server.url()};
    make_checker();
    std::optional<Decision> decision;
    auto handle = check(decision);
    ASSERT_TRUE(runner_.run_until([&] { return decision.has_value(); }));
    EXPECT_EQ(decision->verdict, ChainVerdict::accept) << "the answer itself is used";
    EXPECT_FALSE(checker_->decide_cached(chain_.get()).has_value());
}

// --- responder quirks (#19): missing nonces, refused GETs ------------------------------

TEST_F(RevocationCheckerTest, AnswerWithoutNonceIsCountedPerResponderAndSaidInTheDetail) {
    auto& responder = serve_good_leaf();  // canned: it cannot echo our nonce
    profile_.ocsp.nonce = NonceMode::prefer;
    make_checker();
    std::optional<Decision> decision;
    auto handle = check(decision);
    ASSERT_TRUE(runner_.run_until([&] { return decision.has_value(); }));
    EXPECT_EQ(decision->verdict, ChainVerdict::accept);
    EXPECT_EQ(decision->detail.rfind("response without nonce accepted as current (thisUpdate ", 0), 0u)
        << decision->detail;
    std::lock_guard lock(stats().errors_mutex);
    ASSERT_EQ(stats().by_responder.count(responder.url()), 1u);
    EXPECT_EQ(stats().by_responder.at(responder.url()).nonce_missing, 1u);
    EXPECT_EQ(stats().by_responder.at(responder.url()).get_refused, 0u);
}

TEST_F(RevocationCheckerTest, RefusedGetIsCountedPerResponderAndSaidInTheDetailOfThatLookupOnly) {
    auto& responder = runner_.serve({testing::http_status(400), http_ok(testing::response_now(
        pki().leaf, pki().issuing, V_OCSP_CERTSTATUS_GOOD, pki().issuing))});
    profile_.ocsp.responders = {responder.url()};
    profile_.ocsp.request = OcspRequestMethod::get;
    make_checker();
    std::optional<Decision> decision;
    auto handle = check(decision);
    ASSERT_TRUE(runner_.run_until([&] { return decision.has_value(); }));
    EXPECT_EQ(decision->verdict, ChainVerdict::accept);
    EXPECT_EQ(decision->detail, responder.url() + " refused GET (HTTP status 400), asked by POST; POST only "
                                                  "there for 1h");
    EXPECT_EQ(checker_->get_refusing_responders(), std::vector<std::string>{responder.url()});
    auto again = checker_->decide_cached(chain_.get());
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->detail, "");  // the cached answer says nothing about how it was fetched
    std::lock_guard lock(stats().errors_mutex);
    EXPECT_EQ(stats().by_responder.at(responder.url()).get_refused, 1u);
    EXPECT_EQ(stats().responder_errors, (std::map<std::string, std::uint64_t>{{"get_refused", 1}}));
}

TEST(CheckerStats, CountsAtMostTheBoundOfRespondersThenOther) {
    CheckerStats stats;
    for (std::size_t i = 0; i < CheckerStats::max_counted_responders + 3; ++i)
        stats.count_for_responder("http://r" + std::to_string(i) + ".test/", &ResponderCounts::nonce_missing);
    std::lock_guard lock(stats.errors_mutex);
    EXPECT_EQ(stats.by_responder.size(), CheckerStats::max_counted_responders + 1);
    EXPECT_EQ(stats.by_responder.at("other").nonce_missing, 3u);
    EXPECT_EQ(stats.by_responder.at("http://r0.test/").nonce_missing, 1u);
}

// --- reload: the `previous` checker ---------------------------------------------------

TEST_F(RevocationCheckerTest, ReloadWithTheSameProfileAndTrustFileBytesReusesTheCache) {
    profile_.ocsp.responder_trust = {dir_.write("trust.pem", fixtures::certificate_pem(pki().pinned.get()))};
    auto before = create();
    cache_leaf(*before, Kind::good);
    auto after = create(before.get());
    EXPECT_EQ(after->cache_entries(), 1u);
    EXPECT_EQ(&after->cache(), &before->cache());
}

TEST_F(RevocationCheckerTest, ReloadAfterTheTrustFilesBytesChangedStartsAFreshCache) {
    const auto trust = dir_.write("trust.pem", fixtures::certificate_pem(pki().pinned.get()));
    profile_.ocsp.responder_trust = {trust};
    auto before = create();
    cache_leaf(*before, Kind::good);
    dir_.write("trust.pem", fixtures::certificate_pem(pki().root_delegated.get()));  // same path
    auto after = create(before.get());
    EXPECT_EQ(after->cache_entries(), 0u);
    EXPECT_FALSE(after->decide_cached(chain_.get()).has_value());
}

TEST_F(RevocationCheckerTest, ReloadAfterAnIssuerFilesBytesChangedStartsAFreshCache) {
    const auto issuer = dir_.write("issuing.pem", fixtures::certificate_pem(pki().issuing.get()));
    profile_.ocsp.issuers = {{issuer, {"http://127.0.0.1:1/"}}};
    auto before = create();
    cache_leaf(*before, Kind::good);
    dir_.write("issuing.pem", fixtures::certificate_pem(pki().impostor.get()));  // same path
    auto after = create(before.get());
    EXPECT_EQ(after->cache_entries(), 0u);
}

TEST_F(RevocationCheckerTest, ReloadWithAChangedProfileStartsAFreshCache) {
    auto before = create();
    cache_leaf(*before, Kind::good);
    profile_.unknown = UnknownPolicy::good;
    auto after = create(before.get());
    EXPECT_EQ(after->cache_entries(), 0u);
}

TEST_F(RevocationCheckerTest, ReloadKeepsTheCountersEvenWithAFreshCache) {
    auto before = create();
    cache_leaf(*before, Kind::good);
    (void)before->decide_cached(chain_.get());
    profile_.unknown = UnknownPolicy::good;
    auto after = create(before.get());
    EXPECT_EQ(after->counters()->cache_hits.load(), 1u);
    EXPECT_EQ(after->counters()->verdict_accept.load(), 1u);
}

TEST_F(RevocationCheckerTest, CreateWithoutPreviousStartsWithAnEmptyCache) {
    auto first = create();
    cache_leaf(*first, Kind::good);
    auto unrelated = create();
    EXPECT_EQ(unrelated->cache_entries(), 0u);
}

TEST_F(RevocationCheckerTest, UnreadableTrustFileFailsCreateAsAConfigError) {
    profile_.ocsp.responder_trust = {dir_.path() / "missing.pem"};
    auto created = RevocationChecker::create(profile_);
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.error().code, Errc::config);
}

// --- idle() ---------------------------------------------------------------------------

TEST_F(RevocationCheckerTest, IdleIsFalseWhileAQueryIsInFlightAndTrueAfterIt) {
    serve_good_leaf();
    make_checker();
    const bool idle_before = checker_->idle();
    std::optional<Decision> decision;
    auto handle = check(decision);
    const bool idle_in_flight = checker_->idle();
    ASSERT_TRUE(runner_.run_until([&] { return decision.has_value(); }));
    EXPECT_TRUE(idle_before);
    EXPECT_FALSE(idle_in_flight);
    EXPECT_TRUE(checker_->idle());
}

}  // namespace
}  // namespace ocspgate::ocsp
