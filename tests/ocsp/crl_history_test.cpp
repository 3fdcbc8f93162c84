#include "ocsp/crl_history.h"

#include <gtest/gtest.h>

#include "support/test_pki.h"

namespace ocspgate::ocsp {
namespace {

using fixtures::at;
using fixtures::one_day;
using fixtures::pki;
using fixtures::test_now;

CrlNumber number(long n) {
    tls::Asn1IntegerPtr integer(ASN1_INTEGER_new());
    ASN1_INTEGER_set(integer.get(), n);
    return *CrlNumber::from(integer.get());
}

CrlHistory::Seen seen(long n, std::time_t until, std::string source = "s") {
    return {number(n), at(until), std::move(source)};
}

TEST(CrlHistoryTest, RemembersTheHighestNumberNoted) {
    CrlHistory history;
    history.note("k", seen(5, test_now + one_day, "five"), at(test_now));
    history.note("k", seen(7, test_now + one_day, "seven"), at(test_now));
    history.note("k", seen(6, test_now + one_day, "six"), at(test_now));
    auto highest = history.highest("k", at(test_now));
    ASSERT_TRUE(highest);
    EXPECT_EQ(highest->number, number(7));
    EXPECT_EQ(highest->source, "seven");
}

TEST(CrlHistoryTest, ForgetsANumberAfterItsUntil) {
    CrlHistory history;
    history.note("k", seen(7, test_now + 60), at(test_now));
    EXPECT_TRUE(history.highest("k", at(test_now + 60)));
    EXPECT_FALSE(history.highest("k", at(test_now + 61)));
}

TEST(CrlHistoryTest, LowerNumberReplacesOneNoLongerRemembered) {
    CrlHistory history;
    history.note("k", seen(7, test_now + 60), at(test_now));
    history.note("k", seen(3, test_now + one_day), at(test_now + 120));
    EXPECT_EQ(history.highest("k", at(test_now + 120))->number, number(3));
}

TEST(CrlHistoryTest, KeysAreIndependent) {
    CrlHistory history;
    history.note("a", seen(7, test_now + 60), at(test_now));
    EXPECT_FALSE(history.highest("b", at(test_now)));
}

TEST(CrlHistoryTest, FullHistoryForgetsTheEntryDueSoonest) {
    CrlHistory history(2);
    history.note("late", seen(1, test_now + 3 * one_day), at(test_now));
    history.note("soon", seen(1, test_now + one_day), at(test_now));
    history.note("new", seen(1, test_now + 2 * one_day), at(test_now));
    EXPECT_FALSE(history.highest("soon", at(test_now)));
    EXPECT_TRUE(history.highest("late", at(test_now)));
    EXPECT_TRUE(history.highest("new", at(test_now)));
}

TEST(CrlHistoryKeyTest, DiffersByIssuerKeyScopeAndKind) {
    fixtures::CrlSpec spec;
    spec.signer = &pki().issuing;
    auto complete = fixtures::make_crl(spec);
    spec.extensions = {{NID_issuing_distribution_point, "critical,onlyuser:TRUE"}};
    auto users_only = fixtures::make_crl(spec);
    const auto key = crl_history_key(complete.get(), pki().issuing.get(), false);
    EXPECT_EQ(key, crl_history_key(complete.get(), pki().issuing.get(), false));
    EXPECT_NE(key, crl_history_key(complete.get(), pki().issuing.get(), true));
    EXPECT_NE(key, crl_history_key(users_only.get(), pki().issuing.get(), false));
    EXPECT_NE(key, crl_history_key(complete.get(), pki().impostor.get(), false)) << "same name, another key";
}

}  // namespace
}  // namespace ocspgate::ocsp
