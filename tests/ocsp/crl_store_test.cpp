// Tests for ocsp/crl_store: CRLs from files and from URLs served by a loopback server, on a
// real libuv loop.
//
// The store judges with the real clock (system_clock), so every CRL here is dated around
// std::time(nullptr), not fixtures::test_now. Callbacks only record; the assertions follow
// run_until().
#include "ocsp/crl_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "engine_fixtures.h"
#include "loop_runner.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "tls/certificate.h"

namespace ocspgate::ocsp {
namespace {

using namespace std::chrono_literals;
using fixtures::CrlSpec;
using fixtures::Issued;
using fixtures::pki;
using testing::http_ok;
using testing::LoopbackServer;
using testing::LoopRunner;
using testing::up_ref;
using Kind = MethodResult::Kind;

constexpr int certificate_hold = 6;  // CRLReason

// A CRL of the issuing CA, issued `age` ago and current for a week, listing `revoked`.
CrlSpec issuing_crl(std::vector<const Issued*> revoked, std::chrono::seconds age, long number,
                    int reason = -1) {
    const std::time_t now = std::time(nullptr);
    CrlSpec spec;
    spec.signer = &pki().issuing;
    spec.this_update = now - age.count();
    spec.next_update = now + 7 * fixtures::one_day;
    spec.number = number;
    for (const Issued* cert : revoked)
        spec.revoked.push_back(fixtures::RevokedSpec{cert->get(), now - 2 * fixtures::one_day, reason});
    return spec;
}

std::vector<std::uint8_t> der(const CrlSpec& spec) { return fixtures::der_of(fixtures::make_crl(spec).get()); }

std::string pem(const CrlSpec& spec) {
    auto bytes = fixtures::pem_of(fixtures::make_crl(spec).get());
    return {bytes.begin(), bytes.end()};
}

// What one asynchronous lookup reported.
struct Reported {
    int calls = 0;
    std::optional<MethodResult> result;
};

class CrlStoreTest : public ::testing::Test {
protected:
    CrlStoreTest() { settings_.timeout = 1000ms; }

    void TearDown() override { runner_.shutdown(); }

    // The store over settings_ as they are now (it keeps a reference to them).
    CrlStore& make_store(std::shared_ptr<StepTrace> trace = {}) {
        store_.emplace(settings_, 300s, std::nullopt, std::move(trace));
        EXPECT_TRUE(store_->load_files().ok());
        return *store_;
    }

    LoopbackServer& serve_crl(const CrlSpec& spec) {
        return runner_.serve({http_ok(der(spec), "application/pkix-crl")});
    }

    std::size_t lookup_async(const Issued& cert, Reported& out) {
        return store_->lookup_async(runner_.mailbox(), up_ref(cert), up_ref(pki().issuing), [&out](MethodResult r) {
            ++out.calls;
            out.result = std::move(r);
        });
    }

    bool run_until_reported(std::vector<const Reported*> all) {
        return runner_.run_until([all] {
            for (const Reported* r : all)
                if (r->calls == 0) return false;
            return true;
        });
    }

    // One URL serves `held`, then `next`: the first lookup of the leaf takes `held`, the
    // second (`held` past its nextUpdate) starts the download of `next`, in the background
    // or waiting for it; returns once that download is in and the store is idle.
    void download_twice(const CrlSpec& held, const CrlSpec& next, Reported& first, Reported& second) {
        auto& server = runner_.serve({http_ok(der(held)), http_ok(der(next))});
        settings_.urls = {server.url("/issuing.crl")};
        make_store();
        lookup_async(pki().leaf, first);
        ASSERT_TRUE(run_until_reported({&first}));
        lookup_async(pki().leaf, second);
        ASSERT_TRUE(run_until_reported({&second}));
        ASSERT_TRUE(runner_.run_until([&] { return server.requests() == 2 && store_->idle(); }));
    }

    std::optional<Kind> cached_kind(const Issued& cert) {
        auto r = store_->lookup_cached(cert.get(), pki().issuing.get());
        return r ? std::optional<Kind>(r->kind) : std::nullopt;
    }

    LoopRunner runner_;
    fixtures::TempDir dir_;
    CrlSettings settings_;
    std::optional<CrlStore> store_;
};

// --- files ----------------------------------------------------------------------------

// A CRL of 256 KiB or more is never verified for the first time on an event loop (a pass over
// all of it): lookup_cached() leaves that to lookup_async(), which judges on libuv's thread
// pool; from then on the CRL's memo answers on the loop.
TEST_F(CrlStoreTest, ALargeCrlIsFirstJudgedOnTheThreadPoolThenAtOnce) {
    CrlSpec spec = issuing_crl({&pki().leaf}, 1h, 1);
    spec.extensions.push_back({NID_netscape_comment, std::string(300 * 1024, 'x')});  // non-critical padding
    settings_.files = {dir_.write("large.crl", pem(spec))};
    make_store();
    EXPECT_EQ(cached_kind(pki().leaf), std::nullopt) << "its first verification would run on the loop";
    Reported reported;
    lookup_async(pki().leaf, reported);
    ASSERT_TRUE(run_until_reported({&reported}));
    ASSERT_TRUE(reported.result.has_value());
    EXPECT_EQ(reported.result->kind, Kind::revoked);
    EXPECT_EQ(cached_kind(pki().leaf), Kind::revoked);
    EXPECT_EQ(cached_kind(pki().other_leaf), Kind::good) << "the memo serves every certificate of that issuer";
}

TEST_F(CrlStoreTest, ASmallCrlIsJudgedAtOnce) {
    settings_.files = {dir_.write("small.crl", pem(issuing_crl({&pki().leaf}, 1h, 1)))};
    make_store();
    EXPECT_EQ(cached_kind(pki().leaf), Kind::revoked);
}

TEST_F(CrlStoreTest, NewestFileCrlRevokesWhicheverFileIsListedFirst) {
    const auto older = dir_.write("older.crl", pem(issuing_crl({}, 2h, 1)));
    const auto newer = dir_.write("newer.crl", pem(issuing_crl({&pki().leaf}, 1h, 2)));
    std::vector<std::optional<Kind>> kinds;
    for (auto files : {std::vector{older, newer}, std::vector{newer, older}}) {
        settings_.files = files;
        make_store();
        kinds.push_back(cached_kind(pki().leaf));
    }
    EXPECT_EQ(kinds, (std::vector<std::optional<Kind>>{Kind::revoked, Kind::revoked}));
}

TEST_F(CrlStoreTest, NewestFileCrlThatNoLongerListsAHeldCertificateDecidesWhicheverFileIsListedFirst) {
    const auto older = dir_.write("older.crl", pem(issuing_crl({&pki().leaf}, 2h, 1, certificate_hold)));
    const auto newer = dir_.write("newer.crl", pem(issuing_crl({}, 1h, 2)));
    std::vector<std::optional<Kind>> kinds;
    for (auto files : {std::vector{older, newer}, std::vector{newer, older}}) {
        settings_.files = files;
        make_store();
        kinds.push_back(cached_kind(pki().leaf));
    }
    EXPECT_EQ(kinds, (std::vector<std::optional<Kind>>{Kind::good, Kind::good}));
}

TEST_F(CrlStoreTest, CertificateWithoutAnyCrlOfItsIssuerIsAnError) {
    CrlSpec root_crl = issuing_crl({}, 1h, 1);
    root_crl.signer = &pki().root;
    settings_.files = {dir_.write("root.crl", pem(root_crl))};
    make_store();
    auto r = store_->lookup_cached(pki().leaf.get(), pki().issuing.get());
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->kind, Kind::error);
    EXPECT_EQ(r->detail, "no CRL for this issuer (no file, no URL, no CRL DP)");
}

// --- URLs: what lookup_cached knows ---------------------------------------------------

TEST_F(CrlStoreTest, LookupCachedIsNulloptWhileTheUrlsCrlIsNotHeld) {
    auto& server = serve_crl(issuing_crl({}, 1h, 1));
    settings_.urls = {server.url("/issuing.crl")};
    make_store();
    const auto answer = cached_kind(pki().leaf);
    const auto deadline = std::chrono::steady_clock::now() + 50ms;  // time for a stray download
    runner_.run_until([deadline] { return std::chrono::steady_clock::now() >= deadline; });
    EXPECT_EQ(answer, std::nullopt);
    EXPECT_EQ(server.requests(), 0) << "lookup_cached must not download";
}

TEST_F(CrlStoreTest, LookupCachedAnswersOnceTheDownloadedCrlIsHeld) {
    auto& server = serve_crl(issuing_crl({&pki().leaf}, 1h, 1));
    settings_.urls = {server.url("/issuing.crl")};
    make_store();
    Reported reported;
    lookup_async(pki().leaf, reported);
    ASSERT_TRUE(run_until_reported({&reported}));
    EXPECT_EQ(cached_kind(pki().leaf), Kind::revoked);
    EXPECT_EQ(cached_kind(pki().other_leaf), Kind::good);
}

// --- URLs: one download, one verdict per certificate ----------------------------------

TEST_F(CrlStoreTest, ConcurrentLookupsOfDifferentCertificatesShareOneDownload) {
    auto& server = serve_crl(issuing_crl({&pki().leaf}, 1h, 1));
    settings_.urls = {server.url("/issuing.crl")};
    make_store();
    Reported good, revoked;
    const std::size_t first_joined = lookup_async(pki().other_leaf, good);
    const std::size_t second_joined = lookup_async(pki().leaf, revoked);
    ASSERT_TRUE(run_until_reported({&good, &revoked}));
    EXPECT_EQ(first_joined, 0u);
    EXPECT_EQ(second_joined, 1u);
    EXPECT_EQ(server.requests(), 1);
}

// The regression test for waiters sharing the first requester's verdict (a security bug): a
// revoked certificate whose lookup joined a good certificate's download was reported good.
TEST_F(CrlStoreTest, RevokedCertificateJoiningAGoodOnesDownloadIsStillRevoked) {
    auto& server = serve_crl(issuing_crl({&pki().leaf}, 1h, 1));
    settings_.urls = {server.url("/issuing.crl")};
    make_store();
    Reported good, revoked;
    lookup_async(pki().other_leaf, good);
    lookup_async(pki().leaf, revoked);
    ASSERT_TRUE(run_until_reported({&good, &revoked}));
    ASSERT_EQ(server.requests(), 1) << "the lookups did not share the download";
    ASSERT_TRUE(good.result && revoked.result);
    EXPECT_EQ(good.result->kind, Kind::good) << good.result->detail;
    EXPECT_EQ(revoked.result->kind, Kind::revoked) << revoked.result->detail;
    EXPECT_EQ(good.calls, 1);
    EXPECT_EQ(revoked.calls, 1);
}

TEST_F(CrlStoreTest, GoodCertificateJoiningARevokedOnesDownloadIsStillGood) {
    auto& server = serve_crl(issuing_crl({&pki().leaf}, 1h, 1));
    settings_.urls = {server.url("/issuing.crl")};
    make_store();
    Reported revoked, good;
    lookup_async(pki().leaf, revoked);
    lookup_async(pki().other_leaf, good);
    ASSERT_TRUE(run_until_reported({&revoked, &good}));
    ASSERT_EQ(server.requests(), 1) << "the lookups did not share the download";
    ASSERT_TRUE(good.result && revoked.result);
    EXPECT_EQ(revoked.result->kind, Kind::revoked) << revoked.result->detail;
    EXPECT_EQ(good.result->kind, Kind::good) << good.result->detail;
}

TEST_F(CrlStoreTest, DownloadedCrlIsReportedAsTheSource) {
    auto& server = serve_crl(issuing_crl({&pki().leaf}, 1h, 1));
    settings_.urls = {server.url("/issuing.crl")};
    make_store();
    Reported reported;
    lookup_async(pki().leaf, reported);
    ASSERT_TRUE(run_until_reported({&reported}));
    ASSERT_TRUE(reported.result);
    EXPECT_EQ(reported.result->source, server.url("/issuing.crl"));
}

// --- URLs: freshness and replays ------------------------------------------------------

// A replayed (older) CRL served by the URL must not outvote a newer CRL the store holds.
// The newer one comes from a file here: keep_fetched()'s guard for a URL's own newer CRL only
// runs when a download starts while that CRL is current, which lookup_async() never does
// (missing() skips current URLs) except in a cross-thread race this test cannot force.
TEST_F(CrlStoreTest, OlderCrlFromTheUrlDoesNotOutvoteANewerFileCrl) {
    auto& replaying = serve_crl(issuing_crl({}, 2h, 1));
    settings_.files = {dir_.write("newer.crl", pem(issuing_crl({&pki().leaf}, 1h, 2)))};
    settings_.urls = {replaying.url("/issuing.crl")};
    make_store();
    Reported reported;
    lookup_async(pki().leaf, reported);
    ASSERT_TRUE(run_until_reported({&reported}));
    ASSERT_EQ(replaying.requests(), 1);
    ASSERT_TRUE(reported.result);
    EXPECT_EQ(reported.result->kind, Kind::revoked) << reported.result->detail;
}

TEST_F(CrlStoreTest, HeldCrlPastItsNextUpdateIsDownloadedAgainAndReplaced) {
    CrlSpec expired = issuing_crl({}, 2h, 1);
    expired.next_update = std::time(nullptr) - 3600;  // beyond the 300 s clock skew
    const CrlSpec fresh = issuing_crl({&pki().leaf}, 1h, 2);
    Reported first, second;
    ASSERT_NO_FATAL_FAILURE(download_twice(expired, fresh, first, second));
    ASSERT_TRUE(first.result && second.result);
    EXPECT_EQ(first.result->kind, Kind::error) << "an expired CRL must not answer";
    EXPECT_EQ(second.result->kind, Kind::revoked) << second.result->detail;
}

// --- URLs: refresh ahead of nextUpdate, conditionally -----------------------------------

// "HTTP/1.1 200 OK" with the CRL and the validators a web server sends for a static file.
testing::CannedReply crl_with_validators(const CrlSpec& spec, const std::string& etag) {
    const auto body = der(spec);
    return {testing::CannedReply::Kind::respond,
            "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nETag: " + etag +
                "\r\nLast-Modified: Mon, 07 Dec 2026 10:00:00 GMT\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\n\r\n" + std::string(body.begin(), body.end())};
}

// Current for another 60 s of an hour's validity: inside the last tenth, so due for a refresh.
CrlSpec crl_near_its_next_update(std::vector<const Issued*> revoked, long number) {
    CrlSpec spec = issuing_crl(std::move(revoked), 1h, number);
    spec.next_update = std::time(nullptr) + 60;
    return spec;
}

TEST_F(CrlStoreTest, ACrlNearItsNextUpdateIsRefreshedConditionallyWhileLookupsUseTheHeldOne) {
    auto& server = runner_.serve({crl_with_validators(crl_near_its_next_update({}, 1), "\"v1\""),
                                  testing::http_status(304)});
    settings_.urls = {server.url("/issuing.crl")};
    make_store();
    Reported first, second;
    lookup_async(pki().leaf, first);
    ASSERT_TRUE(run_until_reported({&first}));
    EXPECT_EQ(cached_kind(pki().leaf), std::nullopt) << "a refresh is due: lookup_async starts it";
    lookup_async(pki().leaf, second);
    ASSERT_TRUE(run_until_reported({&second}));
    ASSERT_TRUE(runner_.run_until([&] { return store_->idle(); }));
    ASSERT_TRUE(first.result && second.result);
    EXPECT_EQ(first.result->kind, Kind::good) << first.result->detail;
    EXPECT_EQ(second.result->kind, Kind::good) << second.result->detail;
    ASSERT_EQ(server.requests(), 2);
    EXPECT_EQ(server.request_heads()[0].find("If-None-Match"), std::string::npos);
    EXPECT_NE(server.request_heads()[1].find("\r\nIf-None-Match: \"v1\""), std::string::npos) << server.request_heads()[1];
    EXPECT_NE(server.request_heads()[1].find("\r\nIf-Modified-Since: Mon, 07 Dec 2026 10:00:00 GMT"),
              std::string::npos);
    EXPECT_EQ(cached_kind(pki().leaf), Kind::good) << "304: the held CRL stays, and is not asked for again at once";
    EXPECT_EQ(server.requests(), 2);
}

TEST_F(CrlStoreTest, ARefreshAheadOfNextUpdateThatBringsANewCrlReplacesTheHeldOne) {
    auto& server = runner_.serve({crl_with_validators(crl_near_its_next_update({}, 1), "\"v1\""),
                                  crl_with_validators(issuing_crl({&pki().leaf}, 1h, 2), "\"v2\"")});
    settings_.urls = {server.url("/issuing.crl")};
    make_store();
    Reported first, second;
    lookup_async(pki().leaf, first);
    ASSERT_TRUE(run_until_reported({&first}));
    lookup_async(pki().leaf, second);
    ASSERT_TRUE(run_until_reported({&second}));
    ASSERT_TRUE(runner_.run_until([&] { return store_->idle(); }));
    ASSERT_TRUE(second.result);
    EXPECT_EQ(second.result->kind, Kind::good) << "judged with the CRL held while the refresh ran";
    EXPECT_EQ(server.requests(), 2);
    EXPECT_EQ(cached_kind(pki().leaf), Kind::revoked) << "the refreshed CRL is the one held now";
}

TEST_F(CrlStoreTest, A304ToAnUnconditionalDownloadIsAFailure) {
    auto& server = runner_.serve({testing::http_status(304)});
    settings_.urls = {server.url("/issuing.crl")};
    make_store();
    Reported reported;
    lookup_async(pki().leaf, reported);
    ASSERT_TRUE(run_until_reported({&reported}));
    ASSERT_TRUE(reported.result);
    EXPECT_EQ(reported.result->kind, Kind::error);
    EXPECT_NE(reported.result->detail.find("HTTP status 304"), std::string::npos) << reported.result->detail;
}

// Past its nextUpdate but within clock_skew a held CRL still decides: it is fetched again in
// the background and no lookup waits for the new one (a 20 MB CRL's download and preparation
// held every handshake for ~2 s when they waited, perf/RESULTS.md 2026-12-07).
CrlSpec past_next_update_within_skew() {
    CrlSpec due = issuing_crl({}, 2h, 1);
    due.next_update = std::time(nullptr) - 60;  // the store's clock skew is 300 s
    return due;
}

TEST_F(CrlStoreTest, HeldCrlPastItsNextUpdateKeepsDecidingWhileItIsFetchedAgain) {
    auto& server = runner_.serve({http_ok(der(past_next_update_within_skew())), testing::silence()});
    settings_.urls = {server.url("/issuing.crl")};
    make_store();
    Reported first, second;
    lookup_async(pki().leaf, first);
    ASSERT_TRUE(run_until_reported({&first}));
    ASSERT_TRUE(first.result);
    EXPECT_EQ(first.result->kind, Kind::good) << first.result->detail;
    EXPECT_EQ(cached_kind(pki().leaf), std::nullopt) << "lookup_async starts the refresh";
    lookup_async(pki().leaf, second);
    ASSERT_TRUE(run_until_reported({&second}));  // the refresh never answers: not waited for
    ASSERT_TRUE(second.result);
    EXPECT_EQ(second.result->kind, Kind::good) << second.result->detail;
    EXPECT_TRUE(runner_.run_until([&server] { return server.requests() == 2; })) << "fetched again";
}

TEST_F(CrlStoreTest, CrlFetchedAgainInTheBackgroundReplacesTheHeldOne) {
    Reported first, second;
    ASSERT_NO_FATAL_FAILURE(
        download_twice(past_next_update_within_skew(), issuing_crl({&pki().leaf}, 1h, 2), first, second));
    EXPECT_EQ(cached_kind(pki().leaf), Kind::revoked) << "the new CRL decides";
}

// Both of 256 KiB or more: the replaced one is handed to the low-priority thread to be freed
// (release_off_loop), while lookups go on with the new one.
TEST_F(CrlStoreTest, ALargeCrlFetchedAgainReplacesTheHeldOneWhichIsFreedOffTheLoop) {
    const std::string padding(300 * 1024, 'x');
    CrlSpec stale = past_next_update_within_skew();
    stale.extensions.push_back({NID_netscape_comment, padding});
    CrlSpec fresh = issuing_crl({&pki().leaf}, 1h, 2);
    fresh.extensions.push_back({NID_netscape_comment, padding});
    Reported first, second;
    ASSERT_NO_FATAL_FAILURE(download_twice(stale, fresh, first, second));
    EXPECT_EQ(cached_kind(pki().leaf), Kind::revoked) << "the new CRL decides";
    EXPECT_EQ(cached_kind(pki().other_leaf), Kind::good);
}

// A server that still serves the CRL held (a CA publishing late) is not asked again at every
// lookup until nextUpdate + clock_skew: one background refresh per URL per eighth of the refresh margin (at least 10 s).
TEST_F(CrlStoreTest, RefreshThatBringsNoNewerCrlIsNotTriedAgainAtOnce) {
    const auto due = der(past_next_update_within_skew());
    auto& server = runner_.serve({http_ok(due), http_ok(due), http_ok(due)});
    settings_.urls = {server.url("/issuing.crl")};
    make_store();
    Reported first, second, third;
    lookup_async(pki().leaf, first);
    ASSERT_TRUE(run_until_reported({&first}));
    lookup_async(pki().leaf, second);  // the refresh: the same CRL again
    ASSERT_TRUE(runner_.run_until([&] { return second.calls == 1 && server.requests() == 2 && store_->idle(); }));
    EXPECT_NE(cached_kind(pki().leaf), std::nullopt) << "judged at once, no refresh due";
    lookup_async(pki().leaf, third);
    ASSERT_TRUE(run_until_reported({&third}));
    ASSERT_TRUE(third.result);
    EXPECT_EQ(third.result->kind, Kind::good) << third.result->detail;
    EXPECT_TRUE(store_->idle()) << "no download started";
    EXPECT_EQ(server.requests(), 2);
}

TEST_F(CrlStoreTest, FailedDownloadIsAnErrorNamingTheUrl) {
    auto& server = runner_.serve({testing::http_status(404)});
    settings_.urls = {server.url("/missing.crl")};
    make_store();
    Reported reported;
    lookup_async(pki().leaf, reported);
    ASSERT_TRUE(run_until_reported({&reported}));
    ASSERT_TRUE(reported.result);
    EXPECT_EQ(reported.result->kind, Kind::error);
    EXPECT_NE(reported.result->detail.find("not downloaded: " + server.url("/missing.crl") + ": HTTP status 404"),
              std::string::npos)
        << reported.result->detail;
}

// --- the steps recorded for `ocspgate check` -----------------------------------------

TEST_F(CrlStoreTest, TraceRecordsTheFileReadTheDownloadAndTheJudgementWithEachCrlsUse) {
    const auto body = der(issuing_crl({&pki().leaf}, 1h, 2));
    auto& server = runner_.serve({http_ok(body, "application/pkix-crl")});
    settings_.files = {dir_.write("older.crl", pem(issuing_crl({}, 2h, 1)))};
    settings_.urls = {server.url("/issuing.crl")};
    auto trace = std::make_shared<StepTrace>();
    make_store(trace);
    Reported reported;
    lookup_async(pki().leaf, reported);
    ASSERT_TRUE(run_until_reported({&reported}));
    ASSERT_TRUE(reported.result);
    EXPECT_EQ(reported.result->kind, Kind::revoked) << reported.result->detail;

    auto steps = trace->steps();
    ASSERT_EQ(steps.size(), 3u);
    EXPECT_EQ(steps[0].action, "file");
    EXPECT_EQ(steps[0].source, settings_.files[0].string());
    EXPECT_EQ(steps[0].outcome, "read");
    EXPECT_EQ(steps[1].action, "download");
    EXPECT_EQ(steps[1].source, server.url("/issuing.crl"));
    EXPECT_EQ(steps[1].outcome, "downloaded");
    EXPECT_EQ(steps[1].http_status, 200);
    EXPECT_EQ(steps[1].bytes, body.size());
    EXPECT_LE(steps[1].started, steps[1].ended);
    EXPECT_EQ(steps[2].action, "judge");
    EXPECT_EQ(steps[2].outcome, "revoked");
    EXPECT_LE(steps[1].ended, steps[2].started);

    auto crls = trace->crls();
    ASSERT_EQ(crls.size(), 2u);
    for (const auto& c : crls) {
        EXPECT_EQ(c.issuer, tls::subject_of(pki().issuing.get()));
        EXPECT_TRUE(c.next_update.has_value());
        EXPECT_FALSE(c.delta);
        if (c.source == server.url("/issuing.crl")) {
            EXPECT_EQ(c.use, "used");
            EXPECT_EQ(c.number, "2");
        } else {
            EXPECT_EQ(c.use, "not_deciding") << "verified, but the newer CRL decides";
            EXPECT_EQ(c.number, "1");
        }
    }
}

TEST_F(CrlStoreTest, TraceRecordsAFailedDownloadWithItsHttpStatus) {
    auto& server = runner_.serve({testing::http_status(404)});
    settings_.urls = {server.url("/missing.crl")};
    auto trace = std::make_shared<StepTrace>();
    make_store(trace);
    Reported reported;
    lookup_async(pki().leaf, reported);
    ASSERT_TRUE(run_until_reported({&reported}));
    auto steps = trace->steps();
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_EQ(steps[0].action, "download");
    EXPECT_EQ(steps[0].outcome, "HTTP status 404");
    EXPECT_EQ(steps[0].http_status, 404);
    EXPECT_EQ(steps[1].action, "judge");
    EXPECT_EQ(steps[1].outcome, "error");
    EXPECT_TRUE(trace->crls().empty());
}

// --- completion and idleness ----------------------------------------------------------

TEST_F(CrlStoreTest, LookupWithNothingToDownloadStillReportsOnTheLoop) {
    settings_.files = {dir_.write("issuing.crl", pem(issuing_crl({&pki().leaf}, 1h, 1)))};
    make_store();
    Reported reported;
    const std::size_t joined = lookup_async(pki().leaf, reported);
    EXPECT_EQ(reported.calls, 0) << "reported from inside lookup_async";
    ASSERT_TRUE(run_until_reported({&reported}));
    EXPECT_EQ(joined, 0u);
    ASSERT_TRUE(reported.result);
    EXPECT_EQ(reported.result->kind, Kind::revoked);
}

TEST_F(CrlStoreTest, IdleIsFalseWhileALookupIsInFlightAndTrueAfterItCompletes) {
    auto& server = serve_crl(issuing_crl({}, 1h, 1));
    settings_.urls = {server.url("/issuing.crl")};
    make_store();
    const bool idle_before = store_->idle();
    Reported reported;
    lookup_async(pki().leaf, reported);
    const bool idle_in_flight = store_->idle();
    ASSERT_TRUE(run_until_reported({&reported}));
    EXPECT_TRUE(idle_before);
    EXPECT_FALSE(idle_in_flight);
    EXPECT_TRUE(store_->idle());
}

TEST_F(CrlStoreTest, ShutdownAbortsADownloadWithoutReportingAndLeavesTheStoreIdle) {
    auto& server = runner_.serve({testing::silence()});
    settings_.urls = {server.url("/issuing.crl")};
    settings_.timeout = 3000ms;
    make_store();
    Reported reported;
    lookup_async(pki().leaf, reported);
    ASSERT_TRUE(runner_.run_until([&] { return server.requests() == 1; }));
    runner_.shutdown();
    EXPECT_EQ(reported.calls, 0) << "the requester's loop is gone: nobody to report to";
    EXPECT_TRUE(store_->idle());
}

}  // namespace
}  // namespace ocspgate::ocsp
