// Tests for ocsp/ocsp_query: one OCSP exchange on a real libuv loop against loopback servers
// that answer with responses built by the test PKI.
//
// Responses are validated against the real clock (OcspQuery reads system_clock), so they are
// dated around std::time(nullptr) (engine_fixtures.h); the issuing CA signs them, and its
// authority does not depend on the date. Callbacks only record; the assertions follow
// run_until(). Every exchange is bounded by settings_.timeout and the runner's watchdog.
#include "ocsp/ocsp_query.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "engine_fixtures.h"
#include "loop_runner.h"
#include "support/test_pki.h"

namespace ocspgate::ocsp {
namespace {

using namespace std::chrono_literals;
using fixtures::Issued;
using fixtures::pki;
using testing::closed_port;
using testing::http_ok;
using testing::http_status;
using testing::LoopbackServer;
using testing::LoopRunner;
using testing::up_ref;
using Kinds = std::vector<std::string>;

// A response about pki().leaf, current by the real clock, signed by `signer`.
std::vector<std::uint8_t> response_about_leaf(int status = V_OCSP_CERTSTATUS_GOOD,
                                              const Issued& signer = pki().issuing) {
    return testing::response_now(pki().leaf, pki().issuing, status, signer);
}

class OcspQueryTest : public ::testing::Test {
protected:
    OcspQueryTest() {
        settings_.nonce = NonceMode::off;  // canned responses cannot echo a fresh nonce
        settings_.timeout = 1000ms;
    }

    void TearDown() override { runner_.shutdown(); }

    LoopbackServer& serve(std::vector<testing::CannedReply> replies) { return runner_.serve(std::move(replies)); }

    // Starts a query about pki().leaf asking `urls` in order.
    void start(const std::vector<std::string>& urls) {
        QueryInput input;
        input.cert = up_ref(pki().leaf);
        input.issuer = up_ref(pki().issuing);
        input.trusted_responders = trusted_;
        for (const auto& text : urls) input.responders.push_back(parse_url(text).value());
        start_ocsp_query(runner_.mailbox(), std::move(input), settings_, [this](QueryResult result) {
            ++calls_;
            result_ = std::move(result);
        });
    }

    bool run() {
        return runner_.run_until([this] { return calls_ > 0; });
    }

    LoopRunner runner_;
    OcspSettings settings_;  // the query keeps a reference: lives until TearDown
    std::vector<X509*> trusted_;
    int calls_ = 0;
    QueryResult result_;
};

std::string refused_url() { return "http://127.0.0.1:" + std::to_string(closed_port()) + "/"; }

// --- the first answer decides ---------------------------------------------------------

TEST_F(OcspQueryTest, FirstResponderThatAnswersDecidesAndTheNextIsNotAsked) {
    auto& first = serve({http_ok(response_about_leaf())});
    auto& second = serve({http_ok(response_about_leaf())});
    start({first.url("/a"), second.url("/b")});
    ASSERT_TRUE(run());
    EXPECT_EQ(calls_, 1);
    EXPECT_TRUE(result_.answered) << result_.errors;
    EXPECT_EQ(result_.answer.status, CertStatus::good);
    EXPECT_EQ(result_.source, first.url("/a"));
    EXPECT_EQ(second.requests(), 0);
    EXPECT_TRUE(result_.error_kinds.empty());
    EXPECT_EQ(result_.errors, "");
}

TEST_F(OcspQueryTest, RevokedAnswerIsReportedAsAnAnswer) {
    auto& responder = serve({http_ok(response_about_leaf(V_OCSP_CERTSTATUS_REVOKED))});
    start({responder.url()});
    ASSERT_TRUE(run());
    ASSERT_TRUE(result_.answered) << result_.errors;
    EXPECT_EQ(result_.answer.status, CertStatus::revoked);
}

TEST_F(OcspQueryTest, ConfiguredTrustedResponderIsAccepted) {
    trusted_ = {pki().pinned.get()};
    auto& responder = serve({http_ok(response_about_leaf(V_OCSP_CERTSTATUS_GOOD, pki().pinned))});
    start({responder.url()});
    ASSERT_TRUE(run());
    ASSERT_TRUE(result_.answered) << result_.errors;
    EXPECT_EQ(result_.answer.signer, SignerKind::configured);
}

// --- falling to the next responder ----------------------------------------------------

TEST_F(OcspQueryTest, HttpErrorStatusFallsToTheNextResponder) {
    auto& failing = serve({http_status(500)});
    auto& answering = serve({http_ok(response_about_leaf())});
    start({failing.url("/a"), answering.url("/b")});
    ASSERT_TRUE(run());
    ASSERT_TRUE(result_.answered) << result_.errors;
    EXPECT_EQ(result_.source, answering.url("/b"));
    EXPECT_EQ(result_.error_kinds, (Kinds{"http_status"}));
    EXPECT_EQ(result_.errors, failing.url("/a") + ": HTTP status 500");
}

TEST_F(OcspQueryTest, RefusedConnectionFallsToTheNextResponder) {
    const std::string refused = refused_url();
    auto& answering = serve({http_ok(response_about_leaf())});
    start({refused, answering.url()});
    ASSERT_TRUE(run());
    ASSERT_TRUE(result_.answered) << result_.errors;
    EXPECT_EQ(result_.source, answering.url());
    EXPECT_EQ(result_.error_kinds, (Kinds{"transport"}));
    EXPECT_EQ(result_.errors.rfind(refused + ": ", 0), 0u) << result_.errors;
}

TEST_F(OcspQueryTest, SilentResponderTimesOutAndFallsToTheNext) {
    settings_.timeout = 150ms;
    auto& silent = serve({testing::silence()});
    auto& answering = serve({http_ok(response_about_leaf())});
    start({silent.url(), answering.url()});
    ASSERT_TRUE(run());
    ASSERT_TRUE(result_.answered) << result_.errors;
    EXPECT_EQ(result_.source, answering.url());
    EXPECT_EQ(result_.error_kinds, (Kinds{"timeout"}));
}

TEST_F(OcspQueryTest, UnauthorizedSignerFallsToTheNextResponder) {
    auto& forging = serve({http_ok(response_about_leaf(V_OCSP_CERTSTATUS_GOOD, pki().delegated_noeku))});
    auto& answering = serve({http_ok(response_about_leaf())});
    start({forging.url(), answering.url()});
    ASSERT_TRUE(run());
    ASSERT_TRUE(result_.answered) << result_.errors;
    EXPECT_EQ(result_.source, answering.url());
    EXPECT_EQ(result_.error_kinds, (Kinds{"unauthorized_signer"}));
}

TEST_F(OcspQueryTest, GarbageBodyFallsToTheNextResponderAsMalformed) {
    auto& garbage = serve({http_ok({'n', 'o', 't', ' ', 'D', 'E', 'R'})});
    auto& answering = serve({http_ok(response_about_leaf())});
    start({garbage.url(), answering.url()});
    ASSERT_TRUE(run());
    ASSERT_TRUE(result_.answered) << result_.errors;
    EXPECT_EQ(result_.error_kinds, (Kinds{"malformed"}));
}

TEST_F(OcspQueryTest, ResponderThatCannotBeStartedFallsToTheNext) {
    // No https context is given, so the transport refuses the URL before any I/O.
    auto& answering = serve({http_ok(response_about_leaf())});
    start({"https://127.0.0.1:1/", answering.url()});
    ASSERT_TRUE(run());
    ASSERT_TRUE(result_.answered) << result_.errors;
    EXPECT_EQ(result_.source, answering.url());
    EXPECT_EQ(result_.error_kinds, (Kinds{"transport"}));
}

TEST_F(OcspQueryTest, EveryResponderFailingReportsEachAttemptInOrder) {
    auto& hanging_up = serve({testing::hang_up()});
    auto& failing = serve({http_status(503)});
    start({hanging_up.url("/a"), failing.url("/b")});
    ASSERT_TRUE(run());
    EXPECT_EQ(calls_, 1);
    EXPECT_FALSE(result_.answered);
    EXPECT_EQ(result_.error_kinds, (Kinds{"transport", "http_status"}));
    const auto first = result_.errors.find(hanging_up.url("/a") + ": ");
    const auto second = result_.errors.find("; " + failing.url("/b") + ": HTTP status 503");
    EXPECT_EQ(first, 0u) << result_.errors;
    EXPECT_NE(second, std::string::npos) << result_.errors;
    EXPECT_EQ(hanging_up.requests(), 1);
    EXPECT_EQ(failing.requests(), 1);
}

TEST_F(OcspQueryTest, NoResponderIsAnError) {
    start({});
    ASSERT_TRUE(run());
    EXPECT_EQ(calls_, 1);
    EXPECT_FALSE(result_.answered);
    EXPECT_EQ(result_.error_kinds, (Kinds{"no_responder"}));
}

// --- the request on the wire ----------------------------------------------------------

TEST_F(OcspQueryTest, RequestIsPostedByDefault) {
    auto& responder = serve({http_ok(response_about_leaf())});
    start({responder.url("/ocsp")});
    ASSERT_TRUE(run());
    ASSERT_EQ(responder.requests(), 1);
    EXPECT_EQ(responder.request_lines()[0], "POST /ocsp HTTP/1.1");
}

TEST_F(OcspQueryTest, GetIsSentWhenConfigured) {
    settings_.request = OcspRequestMethod::get;
    auto& responder = serve({http_ok(response_about_leaf())});
    start({responder.url("/ocsp")});
    ASSERT_TRUE(run());
    ASSERT_EQ(responder.requests(), 1);
    EXPECT_EQ(responder.request_lines()[0].rfind("GET /ocsp/", 0), 0u) << responder.request_lines()[0];
    EXPECT_TRUE(result_.answered) << result_.errors;
}

// --- completion -----------------------------------------------------------------------

TEST_F(OcspQueryTest, CompletionNeverRunsInsideStart) {
    start({});  // finishes without any I/O: the one path that could complete at once
    EXPECT_EQ(calls_, 0);
    ASSERT_TRUE(run());
    EXPECT_EQ(calls_, 1);
}

TEST_F(OcspQueryTest, ClosingTheMailboxAbortsTheQueryAndReportsShutdown) {
    settings_.timeout = 3000ms;
    auto& silent = serve({testing::silence()});
    start({silent.url()});
    ASSERT_TRUE(runner_.run_until([&] { return silent.requests() == 1; }));
    EXPECT_EQ(calls_, 0);
    runner_.shutdown();
    EXPECT_EQ(calls_, 1);
    EXPECT_FALSE(result_.answered);
    EXPECT_EQ(result_.error_kinds, (Kinds{"shutdown"}));
}

}  // namespace
}  // namespace ocspgate::ocsp
