#include "ocsp/policy.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace ocspgate::ocsp {
namespace {


constexpr const char* responder = "http://ocsp.test/";

RevocationProfile profile(std::vector<RevocationMethod> methods,
                                UnknownPolicy unknown = UnknownPolicy::revoked) {
    RevocationProfile p;
    p.methods = std::move(methods);
    p.unknown = unknown;
    return p;
}

MethodResult answer(MethodResult::Kind kind) {
    MethodResult r;
    r.kind = kind;
    r.source = responder;
    return r;
}

MethodResult failure(std::string detail) {
    MethodResult r = answer(MethodResult::Kind::error);
    r.detail = std::move(detail);
    return r;
}

TEST(CertPolicy, StartsWithTheFirstConfiguredMethod) {
    const auto p = profile({RevocationMethod::crl, RevocationMethod::ocsp});
    CertPolicy policy(p);
    EXPECT_EQ(policy.current(), RevocationMethod::crl);
    EXPECT_FALSE(policy.outcome());
}

TEST(CertPolicy, GoodAnswerAccepts) {
    const auto p = profile({RevocationMethod::ocsp});
    CertPolicy policy(p);
    policy.record(answer(MethodResult::Kind::good));
    ASSERT_TRUE(policy.outcome());
    EXPECT_EQ(policy.outcome()->verdict, ChainVerdict::accept);
    EXPECT_EQ(policy.outcome()->status, "good");
    EXPECT_EQ(policy.outcome()->method, "ocsp");
    EXPECT_EQ(policy.outcome()->source, responder);
}

TEST(CertPolicy, RevokedRejectsWithoutTryingTheNextMethod) {
    const auto p = profile({RevocationMethod::ocsp, RevocationMethod::crl, RevocationMethod::none});
    CertPolicy policy(p);
    policy.record(answer(MethodResult::Kind::revoked));
    ASSERT_TRUE(policy.outcome());
    EXPECT_EQ(policy.outcome()->verdict, ChainVerdict::revoked);
    EXPECT_EQ(policy.outcome()->status, "revoked");
    EXPECT_EQ(policy.outcome()->method, "ocsp");
    EXPECT_EQ(policy.current(), std::nullopt);
}

TEST(CertPolicy, ResultsAfterTheDecisionAreIgnored) {
    const auto p = profile({RevocationMethod::ocsp, RevocationMethod::crl});
    CertPolicy policy(p);
    policy.record(answer(MethodResult::Kind::revoked));
    policy.record(answer(MethodResult::Kind::good));
    ASSERT_TRUE(policy.outcome());
    EXPECT_EQ(policy.outcome()->verdict, ChainVerdict::revoked);
}

TEST(CertPolicy, UnknownTreatedAsRevokedRejectsWithoutTryingTheNextMethod) {
    const auto p = profile({RevocationMethod::ocsp, RevocationMethod::crl}, UnknownPolicy::revoked);
    CertPolicy policy(p);
    policy.record(answer(MethodResult::Kind::unknown));
    ASSERT_TRUE(policy.outcome());
    EXPECT_EQ(policy.outcome()->verdict, ChainVerdict::unknown);
    EXPECT_EQ(policy.outcome()->status, "unknown");
    EXPECT_EQ(policy.outcome()->detail, "unknown treated as revoked");
}

TEST(CertPolicy, UnknownTreatedAsGoodAccepts) {
    const auto p = profile({RevocationMethod::ocsp, RevocationMethod::crl}, UnknownPolicy::good);
    CertPolicy policy(p);
    policy.record(answer(MethodResult::Kind::unknown));
    ASSERT_TRUE(policy.outcome());
    EXPECT_EQ(policy.outcome()->verdict, ChainVerdict::accept);
    EXPECT_EQ(policy.outcome()->status, "unknown");
    EXPECT_EQ(policy.outcome()->detail, "unknown treated as good");
}

TEST(CertPolicy, UnknownWithNextMovesToTheNextMethod) {
    const auto p = profile({RevocationMethod::ocsp, RevocationMethod::crl}, UnknownPolicy::next);
    CertPolicy policy(p);
    policy.record(answer(MethodResult::Kind::unknown));
    EXPECT_FALSE(policy.outcome());
    EXPECT_EQ(policy.current(), RevocationMethod::crl);
}

TEST(CertPolicy, UnknownWithNextOnTheLastMethodFailsClosed) {
    const auto p = profile({RevocationMethod::ocsp}, UnknownPolicy::next);
    CertPolicy policy(p);
    policy.record(answer(MethodResult::Kind::unknown));
    ASSERT_TRUE(policy.outcome());
    EXPECT_EQ(policy.outcome()->verdict, ChainVerdict::undetermined);
    EXPECT_EQ(policy.outcome()->status, "unknown");
    EXPECT_EQ(policy.outcome()->detail, "no method decided: ocsp: unknown");
}

TEST(CertPolicy, ErrorMovesToTheNextMethod) {
    const auto p = profile({RevocationMethod::ocsp, RevocationMethod::crl});
    CertPolicy policy(p);
    policy.record(failure("timeout"));
    EXPECT_FALSE(policy.outcome());
    EXPECT_EQ(policy.current(), RevocationMethod::crl);
}

TEST(CertPolicy, ExhaustedMethodsFailClosedWithEveryError) {
    const auto p = profile({RevocationMethod::ocsp, RevocationMethod::crl});
    CertPolicy policy(p);
    policy.record(failure("timeout"));
    policy.record(failure("download refused"));
    ASSERT_TRUE(policy.outcome());
    EXPECT_EQ(policy.outcome()->verdict, ChainVerdict::undetermined);
    EXPECT_EQ(policy.outcome()->status, "undetermined");
    EXPECT_EQ(policy.outcome()->method, "crl");
    EXPECT_EQ(policy.outcome()->detail, "no method decided: ocsp: timeout; crl: download refused");
}

TEST(CertPolicy, NoneAcceptsWithoutChecking) {
    const auto p = profile({RevocationMethod::none});
    CertPolicy policy(p);
    EXPECT_EQ(policy.current(), RevocationMethod::none);
    policy.record(MethodResult{});
    ASSERT_TRUE(policy.outcome());
    EXPECT_EQ(policy.outcome()->verdict, ChainVerdict::accept);
    EXPECT_EQ(policy.outcome()->status, "unchecked");
    EXPECT_EQ(policy.outcome()->method, "none");
    EXPECT_EQ(policy.outcome()->detail, "");
}

TEST(CertPolicy, NoneAfterFailedMethodsAcceptsAndKeepsTheirErrors) {
    const auto p = profile({RevocationMethod::ocsp, RevocationMethod::none});
    CertPolicy policy(p);
    policy.record(failure("timeout"));
    policy.record(MethodResult{});
    ASSERT_TRUE(policy.outcome());
    EXPECT_EQ(policy.outcome()->verdict, ChainVerdict::accept);
    EXPECT_EQ(policy.outcome()->status, "unchecked");
    EXPECT_EQ(policy.outcome()->detail, "after: ocsp: timeout");
}

TEST(CertPolicy, AnswerFromCacheNamesCacheAsItsSource) {
    const auto p = profile({RevocationMethod::ocsp});
    CertPolicy policy(p);
    MethodResult cached = answer(MethodResult::Kind::good);
    cached.from_cache = true;
    policy.record(cached);
    ASSERT_TRUE(policy.outcome());
    EXPECT_EQ(policy.outcome()->source, "cache");
}

TEST(CertPolicy, RememberedFailureSaysSoWithItsAge) {
    const auto p = profile({RevocationMethod::ocsp});
    CertPolicy policy(p);
    MethodResult r = failure(std::string(responder) + ": connection refused");
    r.from_cache = true;
    r.age = std::chrono::seconds(7);
    policy.record(r);
    ASSERT_TRUE(policy.outcome());
    EXPECT_EQ(policy.outcome()->detail,
              std::string("no method decided: ocsp: remembered failure, 7 s old: ") + responder + ": connection refused");
    EXPECT_EQ(policy.outcome()->source, "cache");
}

TEST(CertPolicy, AnswerFromCacheCarriesItsAge) {
    const auto p = profile({RevocationMethod::ocsp});
    CertPolicy policy(p);
    MethodResult r = answer(MethodResult::Kind::good);
    r.from_cache = true;
    r.age = std::chrono::seconds(42);
    policy.record(r);
    ASSERT_TRUE(policy.outcome());
    EXPECT_EQ(policy.outcome()->age, std::chrono::seconds(42));
}

TEST(CertPolicy, FreshAnswerHasNoAge) {
    const auto p = profile({RevocationMethod::ocsp});
    CertPolicy policy(p);
    policy.record(answer(MethodResult::Kind::good));
    ASSERT_TRUE(policy.outcome());
    EXPECT_FALSE(policy.outcome()->age);
}

TEST(CertPolicy, RevokedAnswerKeepsReasonAndTime) {
    const auto p = profile({RevocationMethod::crl});
    CertPolicy policy(p);
    MethodResult r = answer(MethodResult::Kind::revoked);
    r.revoked = {std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)), 1};
    policy.record(r);
    ASSERT_TRUE(policy.outcome());
    EXPECT_EQ(policy.outcome()->revoked.reason, 1);
    EXPECT_EQ(policy.outcome()->revoked.time, r.revoked.time);
}

TEST(CertPolicy, ConfigProblemOfAFailedMethodIsKeptWhenALaterMethodDecides) {
    const auto p = profile({RevocationMethod::ocsp, RevocationMethod::crl});
    CertPolicy policy(p);
    MethodResult bad = failure("unauthorized_signer: not authorised");
    bad.config_problems.push_back({responder, "unauthorized_signer", "unauthorized_signer: not authorised"});
    policy.record(bad);
    policy.record(answer(MethodResult::Kind::good));
    ASSERT_TRUE(policy.outcome());
    EXPECT_EQ(policy.outcome()->method, "crl");
    ASSERT_EQ(policy.outcome()->config_problems.size(), 1u);
    EXPECT_EQ(policy.outcome()->config_problems[0].kind, "unauthorized_signer");
}

TEST(CrlReasonName, UsesTheWordsOfRfc5280) {
    EXPECT_STREQ(crl_reason_name(-1), "unspecified");
    EXPECT_STREQ(crl_reason_name(0), "unspecified");
    EXPECT_STREQ(crl_reason_name(1), "keyCompromise");
    EXPECT_STREQ(crl_reason_name(6), "certificateHold");
    EXPECT_EQ(crl_reason_name(7), nullptr);  // not used by the RFC
    EXPECT_STREQ(crl_reason_name(10), "aACompromise");
    EXPECT_EQ(crl_reason_name(11), nullptr);
}

}  // namespace
}  // namespace ocspgate::ocsp
