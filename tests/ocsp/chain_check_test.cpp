// Tests for ocsp/chain_check: how the verdicts of the leaf and the intermediate combine, and
// the handle's cancel contract. Answers come from the checker's status cache (stored by the
// test) or from loopback responders on a real libuv loop.
//
// Profile: check = "chain", methods = [ocsp], unknown = revoked, so a cached good answer
// accepts, revoked rejects, unknown rejects as unknown and a cached error is undetermined.
// Callbacks only record; the assertions follow run_until().
#include "ocsp/chain_check.h"

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

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
using testing::LoopRunner;
using testing::response_now;
using Kind = CachedStatus::Kind;

constexpr const char* issuing_serial = "02";  // pki().issuing, as Decision::serial spells it

class ChainCheckTest : public ::testing::Test {
protected:
    ChainCheckTest() {
        profile_.name = "test";
        profile_.check = CheckScope::chain;
        profile_.ocsp.nonce = NonceMode::off;  // canned responses cannot echo a fresh nonce
        profile_.ocsp.timeout = 1000ms;
    }

    void TearDown() override { runner_.shutdown(); }

    RevocationChecker& make_checker() {
        auto created = RevocationChecker::create(profile_);
        EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().message);
        checker_ = std::move(created).value();
        return *checker_;
    }

    // Caches `kind` for `cert` issued by `issuer`, with `detail` to tell the answers apart.
    void cache(const Issued& cert, const Issued& issuer, Kind kind, std::string detail) {
        CachedStatus status;
        status.kind = kind;
        status.source = "http://responder.test/";
        status.detail = std::move(detail);
        status.fresh_until = Clock::now() + 1h;
        checker_->cache().store(make_cert_id(cert.get(), issuer.get()).value(), status, Clock::now());
    }
    void cache_leaf(Kind kind) { cache(pki().leaf, pki().issuing, kind, "about the leaf"); }
    void cache_intermediate(Kind kind) { cache(pki().issuing, pki().root, kind, "about the intermediate"); }

    std::optional<Decision> decide_from_cache() {
        return ChainCheck::decide_from_cache(*checker_, chain_.get());
    }

    std::unique_ptr<ChainCheck> start(Deadline deadline = no_deadline) {
        uv_update_time(runner_.mailbox().loop());  // timers count from the loop's time: make it now
        return ChainCheck::start(*checker_, runner_.mailbox(), chain_.get(), deadline, [this](Decision d) {
            ++calls_;
            decision_ = std::move(d);
        });
    }

    LoopRunner runner_;
    fixtures::TempDir dir_;
    RevocationProfile profile_;
    std::unique_ptr<RevocationChecker> checker_;
    tls::X509StackPtr chain_ = chain_of({&pki().leaf, &pki().issuing, &pki().root});
    int calls_ = 0;
    std::optional<Decision> decision_;
};

// --- precedence: revoked > unknown > undetermined > accept -------------------------------

TEST_F(ChainCheckTest, RevokedIntermediateOutranksUnknownLeaf) {
    make_checker();
    cache_leaf(Kind::unknown);
    cache_intermediate(Kind::revoked);
    auto d = decide_from_cache();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->verdict, ChainVerdict::revoked);
    EXPECT_EQ(d->serial, issuing_serial);
}

TEST_F(ChainCheckTest, RevokedLeafOutranksUnknownIntermediate) {
    make_checker();
    cache_leaf(Kind::revoked);
    cache_intermediate(Kind::unknown);
    auto d = decide_from_cache();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->verdict, ChainVerdict::revoked);
    EXPECT_EQ(d->serial, "");
    EXPECT_EQ(d->detail, "about the leaf");
}

TEST_F(ChainCheckTest, UnknownIntermediateOutranksUndeterminedLeaf) {
    make_checker();
    cache_leaf(Kind::error);
    cache_intermediate(Kind::unknown);
    auto d = decide_from_cache();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->verdict, ChainVerdict::unknown);
    EXPECT_EQ(d->serial, issuing_serial);
}

TEST_F(ChainCheckTest, UnknownLeafOutranksUndeterminedIntermediate) {
    make_checker();
    cache_leaf(Kind::unknown);
    cache_intermediate(Kind::error);
    auto d = decide_from_cache();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->verdict, ChainVerdict::unknown);
    EXPECT_EQ(d->serial, "");
}

TEST_F(ChainCheckTest, UndeterminedIntermediateOutranksAcceptedLeaf) {
    make_checker();
    cache_leaf(Kind::good);
    cache_intermediate(Kind::error);
    auto d = decide_from_cache();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->verdict, ChainVerdict::undetermined);
    EXPECT_EQ(d->serial, issuing_serial);
    EXPECT_NE(d->detail.find("about the intermediate"), std::string::npos) << d->detail;
}

TEST_F(ChainCheckTest, UndeterminedLeafOutranksAcceptedIntermediate) {
    make_checker();
    cache_leaf(Kind::error);
    cache_intermediate(Kind::good);
    auto d = decide_from_cache();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->verdict, ChainVerdict::undetermined);
    EXPECT_EQ(d->serial, "");
}

TEST_F(ChainCheckTest, AllAcceptedReportsTheLeaf) {
    make_checker();
    cache_leaf(Kind::good);
    cache_intermediate(Kind::good);
    auto d = decide_from_cache();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->verdict, ChainVerdict::accept);
    EXPECT_EQ(d->serial, "");
    EXPECT_EQ(d->detail, "about the leaf");
    EXPECT_EQ(d->status, "good");
    EXPECT_EQ(d->method, "ocsp");
    EXPECT_EQ(d->source, "cache");
}

TEST_F(ChainCheckTest, DecidingIntermediateIsReportedWithItsSerialAndAnswer) {
    make_checker();
    cache_leaf(Kind::good);
    cache_intermediate(Kind::revoked);
    auto d = decide_from_cache();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->verdict, ChainVerdict::revoked);
    EXPECT_EQ(d->serial, issuing_serial);
    EXPECT_EQ(d->status, "revoked");
    EXPECT_EQ(d->detail, "about the intermediate");
}

// --- when a decision is reached -------------------------------------------------------

TEST_F(ChainCheckTest, RejectionDecidesWhileAnotherCertificateIsNotCached) {
    make_checker();
    cache_intermediate(Kind::revoked);  // nothing about the leaf
    auto d = decide_from_cache();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->verdict, ChainVerdict::revoked);
}

TEST_F(ChainCheckTest, AcceptanceWaitsForEveryCertificate) {
    make_checker();
    cache_intermediate(Kind::good);  // nothing about the leaf
    EXPECT_FALSE(decide_from_cache().has_value());
}

TEST_F(ChainCheckTest, ChainWithoutAnIssuerIsUndetermined) {
    make_checker();
    chain_ = chain_of({&pki().leaf});
    auto d = decide_from_cache();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->verdict, ChainVerdict::undetermined);
    EXPECT_EQ(d->detail, "nothing to check: the chain has no issuer");
}

TEST_F(ChainCheckTest, CachedRejectionStartsNoLookup) {
    profile_.ocsp.responders = {"http://127.0.0.1:" + std::to_string(testing::closed_port()) + "/"};
    make_checker();
    cache_intermediate(Kind::revoked);  // nothing about the leaf
    auto handle = start();
    const bool idle_after_start = checker_->idle();
    ASSERT_TRUE(runner_.run_until([this] { return calls_ > 0; }));
    EXPECT_TRUE(idle_after_start);
    EXPECT_EQ(checker_->stats().responder_queries.load(), 0u);
    ASSERT_TRUE(decision_.has_value());
    EXPECT_EQ(decision_->verdict, ChainVerdict::revoked);
}

// The leaf's responder answers "revoked" at once; the intermediate's never answers (its
// deadline is far away). The rejection must not wait for it.
TEST_F(ChainCheckTest, RejectionFromALookupDecidesWithoutWaitingForTheOthers) {
    auto& revoking = runner_.serve({http_ok(response_now(pki().leaf, pki().issuing, V_OCSP_CERTSTATUS_REVOKED,
                                                         pki().issuing))});
    const auto& silent = runner_.serve({testing::silence()});
    profile_.ocsp.timeout = 3000ms;
    profile_.ocsp.responders = {silent.url()};  // for the intermediate (issued by the root)
    profile_.ocsp.issuers = {
        {dir_.write("issuing.pem", fixtures::certificate_pem(pki().issuing.get())), {revoking.url()}}};
    make_checker();
    auto handle = start();
    bool intermediate_pending_at_decision = false;
    ASSERT_TRUE(runner_.run_until([&] {
        if (calls_ == 0) return false;
        intermediate_pending_at_decision = !checker_->idle();
        return true;
    }));
    ASSERT_TRUE(decision_.has_value());
    EXPECT_EQ(decision_->verdict, ChainVerdict::revoked);
    EXPECT_EQ(decision_->serial, "");
    EXPECT_TRUE(intermediate_pending_at_decision);
}

TEST_F(ChainCheckTest, AcceptanceAfterLookupsReportsTheLeaf) {
    auto& responder =
        runner_.serve({http_ok(response_now(pki().issuing, pki().root, V_OCSP_CERTSTATUS_GOOD, pki().root))});
    profile_.ocsp.responders = {responder.url()};
    make_checker();
    cache_leaf(Kind::good);  // the intermediate needs a lookup
    auto handle = start();
    ASSERT_TRUE(runner_.run_until([this] { return calls_ > 0; }));
    EXPECT_EQ(responder.requests(), 1);
    ASSERT_TRUE(decision_.has_value());
    EXPECT_EQ(decision_->verdict, ChainVerdict::accept);
    EXPECT_EQ(decision_->serial, "");
    EXPECT_EQ(decision_->source, "cache");  // the leaf's answer, not the responder's
}

// --- delivery and cancellation --------------------------------------------------------

TEST_F(ChainCheckTest, DecisionIsDeliveredOnceThroughTheMailboxNeverInsideStart) {
    make_checker();
    cache_leaf(Kind::good);
    cache_intermediate(Kind::good);
    auto handle = start();
    const int calls_inside_start = calls_;
    ASSERT_TRUE(runner_.run_until([this] { return calls_ > 0; }));
    EXPECT_EQ(calls_inside_start, 0);
    EXPECT_EQ(calls_, 1);
    ASSERT_TRUE(decision_.has_value());
    EXPECT_EQ(decision_->verdict, ChainVerdict::accept);
}

TEST_F(ChainCheckTest, DestroyingTheHandleBeforeDeliveryMeansTheCallbackNeverRuns) {
    make_checker();
    cache_leaf(Kind::good);
    cache_intermediate(Kind::good);
    auto handle = start();  // the decision is already posted to the mailbox
    handle.reset();
    bool later_task_ran = false;  // posted after the decision, so it runs after it
    runner_.mailbox().post([&] { later_task_ran = true; });
    ASSERT_TRUE(runner_.run_until([&] { return later_task_ran; }));
    EXPECT_EQ(calls_, 0);
}

TEST_F(ChainCheckTest, DestroyingTheHandleWhileALookupIsOutstandingMeansTheCallbackNeverRuns) {
    auto& responder =
        runner_.serve({http_ok(response_now(pki().leaf, pki().issuing, V_OCSP_CERTSTATUS_GOOD, pki().issuing))});
    profile_.ocsp.responders = {responder.url()};
    make_checker();
    cache_intermediate(Kind::good);  // the leaf needs a lookup
    auto handle = start();
    handle.reset();
    // The query still runs to its end (and caches its answer); only the delivery is dropped.
    ASSERT_TRUE(runner_.run_until([&] { return responder.requests() == 1 && checker_->idle(); }));
    bool later_task_ran = false;
    runner_.mailbox().post([&] { later_task_ran = true; });
    ASSERT_TRUE(runner_.run_until([&] { return later_task_ran; }));
    EXPECT_EQ(calls_, 0);
    EXPECT_EQ(checker_->cache_entries(), 2u);
}

// --- the handshake budget (ocsp/budget.h) ----------------------------------------------

// A current CRL of the issuing CA that lists the leaf, as a local file.
std::filesystem::path leaf_revoking_crl_file(fixtures::TempDir& dir) {
    const std::time_t now = std::time(nullptr);
    fixtures::CrlSpec spec;
    spec.signer = &pki().issuing;
    spec.this_update = now - 3600;
    spec.next_update = now + 7 * fixtures::one_day;
    spec.number = 1;
    spec.revoked.push_back(fixtures::RevokedSpec{pki().leaf.get(), now - fixtures::one_day, -1});
    auto pem = fixtures::pem_of(fixtures::make_crl(spec).get());
    return dir.write("issuing.crl", std::string(pem.begin(), pem.end()));
}

// Three responders at 3 s each would need 9 s; within a 1.2 s deadline each attempt gets
// 400 ms, so the third still gets its turn and answers.
TEST_F(ChainCheckTest, RespondersThatHangAreCutShortSoThatTheLastOneStillGetsItsTurn) {
    const auto& first = runner_.serve({testing::silence()});
    const auto& second = runner_.serve({testing::silence()});
    auto& answering =
        runner_.serve({http_ok(response_now(pki().leaf, pki().issuing, V_OCSP_CERTSTATUS_GOOD, pki().issuing))});
    profile_.ocsp.timeout = 3000ms;
    profile_.ocsp.responders = {first.url(), second.url(), answering.url()};
    make_checker();
    cache_intermediate(Kind::good);
    const auto started = SteadyClock::now();
    auto handle = start(started + 1200ms);
    ASSERT_TRUE(runner_.run_until([this] { return calls_ > 0; }));
    const auto took = SteadyClock::now() - started;
    ASSERT_TRUE(decision_.has_value());
    EXPECT_EQ(decision_->verdict, ChainVerdict::accept) << decision_->detail;
    EXPECT_EQ(answering.requests(), 1);
    EXPECT_GE(took, 650ms);
    EXPECT_LT(took, 1200ms);
}

// OCSP (3 s) and then a CRL (1 s) within 800 ms: OCSP gets 3/4 of it, 600 ms, and the CRL,
// which decides, its turn.
TEST_F(ChainCheckTest, AHangingResponderLeavesTheNextMethodItsShareOfTheDeadline) {
    const auto& silent = runner_.serve({testing::silence()});
    profile_.methods = {RevocationMethod::ocsp, RevocationMethod::crl};
    profile_.ocsp.timeout = 3000ms;
    profile_.ocsp.responders = {silent.url()};
    profile_.crl.timeout = 1000ms;
    profile_.crl.files = {leaf_revoking_crl_file(dir_)};
    make_checker();
    cache_intermediate(Kind::good);
    const auto started = SteadyClock::now();
    auto handle = start(started + 800ms);
    ASSERT_TRUE(runner_.run_until([this] { return calls_ > 0; }));
    const auto took = SteadyClock::now() - started;
    ASSERT_TRUE(decision_.has_value());
    EXPECT_EQ(decision_->verdict, ChainVerdict::revoked) << decision_->detail;
    EXPECT_EQ(decision_->method, "crl");
    EXPECT_GE(took, 450ms);
    EXPECT_LT(took, 800ms);
}

// The query was started by a check without a deadline (3 s attempt); a second check with a
// 500 ms deadline joins it, gives it up when its share runs out, and goes on to the CRL.
TEST_F(ChainCheckTest, AJoinedLookupIsGivenUpWhenItOutlastsThisChecksShare) {
    const auto& silent = runner_.serve({testing::silence()});
    profile_.methods = {RevocationMethod::ocsp, RevocationMethod::crl};
    profile_.ocsp.timeout = 3000ms;
    profile_.ocsp.responders = {silent.url()};
    profile_.crl.files = {leaf_revoking_crl_file(dir_)};
    make_checker();
    cache_intermediate(Kind::good);
    std::optional<Decision> unhurried;
    auto first = checker_->check(runner_.mailbox(), chain_.get(), no_deadline, [&](Decision d) { unhurried = d; });
    const auto started = SteadyClock::now();
    auto second = start(started + 500ms);
    ASSERT_TRUE(runner_.run_until([this] { return calls_ > 0; }));
    const auto took = SteadyClock::now() - started;
    ASSERT_TRUE(decision_.has_value());
    EXPECT_EQ(decision_->verdict, ChainVerdict::revoked) << decision_->detail;
    EXPECT_EQ(decision_->method, "crl");
    EXPECT_NE(decision_->detail.find("share of the handshake timeout"), std::string::npos) << decision_->detail;
    EXPECT_LT(took, 600ms);
    EXPECT_FALSE(unhurried.has_value()) << "the first check still waits for its own attempt";
    EXPECT_EQ(checker_->stats().coalesced.load(), 1u);
}

TEST_F(ChainCheckTest, NoTimeLeftAsksNoResponderAndFailsClosed) {
    const auto& responder = runner_.serve({testing::silence()});
    profile_.ocsp.responders = {responder.url()};
    make_checker();
    cache_intermediate(Kind::good);
    auto handle = start(SteadyClock::now());
    ASSERT_TRUE(runner_.run_until([this] { return calls_ > 0; }));
    ASSERT_TRUE(decision_.has_value());
    EXPECT_EQ(decision_->verdict, ChainVerdict::undetermined);
    EXPECT_NE(decision_->detail.find("no time left"), std::string::npos) << decision_->detail;
    EXPECT_EQ(responder.requests(), 0);
}

}  // namespace
}  // namespace ocspgate::ocsp
