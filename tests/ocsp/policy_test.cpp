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

MethodResult answer(MethodResult::Kind kind) { return MethodResult{kind, responder, "", false}; }

MethodResult failure(std::string detail) {
    return MethodResult{MethodResult::Kind::error, responder, std::move(detail), false};
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

}  // namespace
}  // namespace ocspgate::ocsp
