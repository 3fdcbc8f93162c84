// Tests for ocsp/ocsp_query's handling of responder quirks (#19): a GET that a responder
// refuses is asked again by POST at once and remembered in a GetFallback; a response without
// the nonce we sent is accepted or refused by the nonce mode and reported either way.
//
// Same set-up as ocsp_query_test.cpp: loopback servers with canned replies on the test's
// loop, responses dated by the real clock. Callbacks only record; assertions follow run().
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "engine_fixtures.h"
#include "loop_runner.h"
#include "ocsp/ocsp_query.h"
#include "support/test_pki.h"

namespace ocspgate::ocsp {
namespace {

using namespace std::chrono_literals;
using fixtures::pki;
using testing::http_ok;
using testing::http_status;
using testing::LoopbackServer;
using testing::LoopRunner;
using testing::up_ref;
using Kinds = std::vector<std::string>;
using Urls = std::vector<std::string>;

std::vector<std::uint8_t> good_response() {
    return testing::response_now(pki().leaf, pki().issuing, V_OCSP_CERTSTATUS_GOOD, pki().issuing);
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

class OcspQueryFallbackTest : public ::testing::Test {
protected:
    OcspQueryFallbackTest() {
        settings_.nonce = NonceMode::off;  // canned responses cannot echo a fresh nonce
        settings_.request = OcspRequestMethod::get;
        settings_.timeout = 1000ms;
    }

    void TearDown() override { runner_.shutdown(); }

    LoopbackServer& serve(std::vector<testing::CannedReply> replies) { return runner_.serve(std::move(replies)); }

    // Runs one query about pki().leaf asking `urls` in order, to its end.
    void query(const Urls& urls) {
        QueryInput input;
        input.cert = up_ref(pki().leaf);
        input.issuer = up_ref(pki().issuing);
        input.get_fallback = &fallback_;
        for (const auto& text : urls) input.responders.push_back(parse_url(text).value());
        int calls = 0;
        start_ocsp_query(runner_.mailbox(), std::move(input), settings_, [this, &calls](QueryResult result) {
            ++calls;
            result_ = std::move(result);
        });
        ASSERT_TRUE(runner_.run_until([&calls] { return calls > 0; }));
    }

    LoopRunner runner_;
    OcspSettings settings_;  // the query keeps a reference: lives until TearDown
    GetFallback fallback_;
    QueryResult result_;
};

// --- GET refused: POST at once ------------------------------------------------------------

class RefusedGetTest : public OcspQueryFallbackTest, public ::testing::WithParamInterface<int> {};

TEST_P(RefusedGetTest, ClientErrorToGetIsAskedAgainByPostAtOnce) {
    auto& responder = serve({http_status(GetParam()), http_ok(good_response())});
    query({responder.url("/ocsp")});
    ASSERT_TRUE(result_.answered) << result_.errors;
    EXPECT_EQ(result_.answer.status, CertStatus::good);
    EXPECT_EQ(result_.source, responder.url("/ocsp"));
    ASSERT_EQ(responder.requests(), 2);
    EXPECT_TRUE(starts_with(responder.request_lines()[0], "GET /ocsp/")) << responder.request_lines()[0];
    EXPECT_EQ(responder.request_lines()[1], "POST /ocsp HTTP/1.1");
    ASSERT_EQ(result_.get_refusals.size(), 1u);
    EXPECT_EQ(result_.get_refusals[0].responder, responder.url("/ocsp"));
    EXPECT_EQ(result_.get_refusals[0].reason, "HTTP status " + std::to_string(GetParam()));
    EXPECT_TRUE(result_.get_refusals[0].newly_known);
    EXPECT_EQ(result_.error_kinds, (Kinds{"get_refused"}));
    EXPECT_EQ(fallback_.refusing(), (Urls{responder.url("/ocsp")}));
}

// 400: a responder that mangles the GET path; 404: GET served under another prefix;
// 405: GET not allowed at all.
INSTANTIATE_TEST_SUITE_P(Statuses, RefusedGetTest, ::testing::Values(400, 404, 405));

TEST_F(OcspQueryFallbackTest, MalformedRequestToGetIsAskedAgainByPost) {
    auto& responder = serve({http_ok(fixtures::make_status_response(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST)),
                             http_ok(good_response())});
    query({responder.url()});
    ASSERT_TRUE(result_.answered) << result_.errors;
    ASSERT_EQ(responder.requests(), 2);
    EXPECT_TRUE(starts_with(responder.request_lines()[1], "POST "));
    ASSERT_EQ(result_.get_refusals.size(), 1u);
    EXPECT_EQ(result_.get_refusals[0].reason, "malformedRequest");
}

TEST_F(OcspQueryFallbackTest, LaterLookupPostsStraightToAResponderThatRefusedGet) {
    auto& responder = serve({http_ok(good_response())});
    fallback_.record_refusal(responder.url(), GetFallback::Clock::now());
    query({responder.url()});
    ASSERT_TRUE(result_.answered) << result_.errors;
    ASSERT_EQ(responder.requests(), 1);
    EXPECT_TRUE(starts_with(responder.request_lines()[0], "POST ")) << responder.request_lines()[0];
    EXPECT_TRUE(result_.get_refusals.empty());
}

TEST_F(OcspQueryFallbackTest, RefusalAlreadyKnownIsNotNewlyKnown) {
    auto& responder = serve({http_status(400), http_ok(good_response())});
    // Known to refuse, and due for a re-probe: this lookup tries GET once more.
    fallback_.record_refusal(responder.url(), GetFallback::Clock::now() - GetFallback::reprobe_after - 1s);
    query({responder.url()});
    ASSERT_TRUE(result_.answered) << result_.errors;
    ASSERT_EQ(result_.get_refusals.size(), 1u);
    EXPECT_FALSE(result_.get_refusals[0].newly_known);
}

TEST_F(OcspQueryFallbackTest, ReprobeThatSucceedsForgetsTheRefusal) {
    auto& responder = serve({http_ok(good_response())});
    fallback_.record_refusal(responder.url(), GetFallback::Clock::now() - GetFallback::reprobe_after - 1s);
    query({responder.url()});
    ASSERT_TRUE(result_.answered) << result_.errors;
    EXPECT_TRUE(starts_with(responder.request_lines().at(0), "GET "));
    EXPECT_TRUE(fallback_.refusing().empty());
}

TEST_F(OcspQueryFallbackTest, ServerErrorToGetIsNotRetriedByPost) {
    auto& failing = serve({http_status(500)});
    auto& answering = serve({http_ok(good_response())});
    query({failing.url("/a"), answering.url("/b")});
    ASSERT_TRUE(result_.answered) << result_.errors;
    EXPECT_EQ(result_.source, answering.url("/b"));
    EXPECT_EQ(failing.requests(), 1);
    EXPECT_EQ(result_.error_kinds, (Kinds{"http_status"}));
    EXPECT_TRUE(fallback_.refusing().empty());
}

TEST_F(OcspQueryFallbackTest, FailingPostAfterRefusedGetFallsToTheNextResponder) {
    auto& refusing = serve({http_status(400), http_status(503)});
    auto& answering = serve({http_ok(good_response())});
    query({refusing.url("/a"), answering.url("/b")});
    ASSERT_TRUE(result_.answered) << result_.errors;
    EXPECT_EQ(result_.source, answering.url("/b"));
    EXPECT_EQ(refusing.requests(), 2);
    EXPECT_EQ(result_.error_kinds, (Kinds{"get_refused", "http_status"}));
    EXPECT_EQ(result_.errors, refusing.url("/a") + ": GET refused (HTTP status 400), asked again by POST; " +
                                  refusing.url("/a") + ": HTTP status 503");
}

TEST_F(OcspQueryFallbackTest, PostRequestsAreNeverRetried) {
    settings_.request = OcspRequestMethod::post;
    auto& refusing = serve({http_status(400)});
    query({refusing.url()});
    EXPECT_FALSE(result_.answered);
    EXPECT_EQ(refusing.requests(), 1);
    EXPECT_EQ(result_.error_kinds, (Kinds{"http_status"}));
    EXPECT_TRUE(result_.get_refusals.empty());
}

// --- nonce modes ----------------------------------------------------------------------------

TEST_F(OcspQueryFallbackTest, PreferAcceptsACurrentResponseWithoutNonceAndReportsIt) {
    settings_.nonce = NonceMode::prefer;
    auto& responder = serve({http_ok(good_response())});
    query({responder.url()});
    ASSERT_TRUE(result_.answered) << result_.errors;
    EXPECT_EQ(result_.answer.nonce, NonceEcho::missing);
    EXPECT_EQ(result_.nonce_missing_from, (Urls{responder.url()}));
}

TEST_F(OcspQueryFallbackTest, RequireRefusesAResponseWithoutNonceAndReportsIt) {
    settings_.nonce = NonceMode::require;
    auto& responder = serve({http_ok(good_response())});
    query({responder.url()});
    EXPECT_FALSE(result_.answered);
    EXPECT_EQ(result_.error_kinds, (Kinds{"nonce_missing"}));
    EXPECT_EQ(result_.nonce_missing_from, (Urls{responder.url()}));
}

TEST_F(OcspQueryFallbackTest, PreferRefusesAResponseWithoutNonceOlderThanMaxResponseAge) {
    settings_.nonce = NonceMode::prefer;
    settings_.clock_skew = 0ms;
    settings_.max_response_age = 30s;  // good_response() was produced a minute ago
    auto& responder = serve({http_ok(good_response())});
    query({responder.url()});
    EXPECT_FALSE(result_.answered);
    EXPECT_EQ(result_.error_kinds, (Kinds{"nonce_missing"}));
    EXPECT_NE(result_.errors.find("max_response_age"), std::string::npos) << result_.errors;
}

TEST_F(OcspQueryFallbackTest, OffSendsNoNonceAndReportsNoneMissing) {
    auto& responder = serve({http_ok(good_response())});
    query({responder.url()});
    ASSERT_TRUE(result_.answered) << result_.errors;
    EXPECT_EQ(result_.answer.nonce, NonceEcho::not_sent);
    EXPECT_TRUE(result_.nonce_missing_from.empty());
}

}  // namespace
}  // namespace ocspgate::ocsp
