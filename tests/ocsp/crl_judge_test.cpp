#include "ocsp/crl_judge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "support/test_pki.h"

namespace ocspgate::ocsp {
namespace {

using namespace std::chrono_literals;
using fixtures::at;
using fixtures::CrlSpec;
using fixtures::one_day;
using fixtures::pki;
using fixtures::RevokedSpec;
using fixtures::test_now;

constexpr const char* kPartition1 = "URI:http://crl.example/p1.crl";
constexpr const char* kPartition2 = "URI:http://crl.example/p2.crl";

HeldCrl held(const CrlSpec& spec, std::string source) {
    auto crl = fixtures::make_crl(spec);
    return HeldCrl{std::shared_ptr<X509_CRL>(crl.release(), X509_CRL_free), std::move(source)};
}

// A CRL of the issuing CA listing `revoked` (may be empty).
CrlSpec issuing_crl(std::vector<X509*> revoked = {}, std::time_t this_update = test_now - 3600) {
    CrlSpec spec;
    spec.signer = &pki().issuing;
    spec.this_update = this_update;
    for (X509* cert : revoked) spec.revoked.push_back(RevokedSpec{cert, test_now - 2 * one_day, 1});
    return spec;
}

CrlSpec partition(const char* point, std::vector<X509*> revoked = {}) {
    auto spec = issuing_crl(std::move(revoked));
    spec.extensions = {{NID_issuing_distribution_point, std::string("critical,fullname:") + point}};
    return spec;
}

// A leaf of the issuing CA that names `point` as its CRL distribution point.
const fixtures::Issued& leaf_in(const char* point) {
    static std::map<std::string, fixtures::Issued> made;
    auto it = made.find(point);
    if (it == made.end()) {
        fixtures::CertSpec spec;
        spec.subject = "/O=Test/CN=partitioned leaf " + std::to_string(made.size());
        spec.issuer = &pki().issuing;
        spec.serial = 0x2000 + static_cast<long>(made.size());
        spec.extensions = fixtures::leaf_extensions();
        spec.extensions.push_back({NID_crl_distribution_points, point});
        it = made.emplace(point, fixtures::make_cert(spec)).first;
    }
    return it->second;
}

MethodResult judge(std::vector<HeldCrl> crls, X509* cert, X509* issuer = pki().issuing.get()) {
    return judge_certificate(crls, CrlJudgeInput{cert, issuer, at(test_now), 300s});
}

using Kind = MethodResult::Kind;

// Judges `cert` with `crls` in every order; every order must give the same answer.
MethodResult judge_every_order(std::vector<HeldCrl> crls, X509* cert) {
    std::sort(crls.begin(), crls.end(), [](const HeldCrl& a, const HeldCrl& b) { return a.source < b.source; });
    auto first = judge(crls, cert);
    while (std::next_permutation(crls.begin(), crls.end(),
                                 [](const HeldCrl& a, const HeldCrl& b) { return a.source < b.source; })) {
        auto again = judge(crls, cert);
        EXPECT_EQ(again.kind, first.kind) << "order changed the answer";
        EXPECT_EQ(again.source, first.source) << "order changed the deciding CRL";
    }
    return first;
}

TEST(CrlJudgeTest, NewerCrlOfTheSameScopeDecidesWhateverTheOrder) {
    auto old_empty = held(issuing_crl({}, test_now - 2 * 3600), "a-old");
    auto newer = held(issuing_crl({pki().leaf.get()}, test_now - 3600), "b-new");
    auto r = judge_every_order({old_empty, newer}, pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::revoked);
    EXPECT_EQ(r.source, "b-new");
}

TEST(CrlJudgeTest, NewerCrlWithoutTheEntryUnrevokesNothingOlderListed) {
    // The newer CRL decides both ways: a certificate taken off hold is good again.
    auto old_listing = held(issuing_crl({pki().leaf.get()}, test_now - 2 * 3600), "a-old");
    auto newer_empty = held(issuing_crl({}, test_now - 3600), "b-new");
    EXPECT_EQ(judge_every_order({old_listing, newer_empty}, pki().leaf.get()).kind, Kind::good);
}

TEST(CrlJudgeTest, HigherCrlNumberDecidesBeforeThisUpdate) {
    auto numbered_low = issuing_crl({}, test_now - 600);
    numbered_low.number = 7;
    auto numbered_high = issuing_crl({pki().leaf.get()}, test_now - 7200);
    numbered_high.number = 8;
    auto r = judge_every_order({held(numbered_low, "a"), held(numbered_high, "b")}, pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::revoked);
}

TEST(CrlJudgeTest, SameNumberDifferentContentFailsClosed) {
    auto one = issuing_crl({});
    one.number = 9;
    auto other = issuing_crl({pki().leaf.get()});
    other.number = 9;
    EXPECT_EQ(judge_every_order({held(one, "a"), held(other, "b")}, pki().leaf.get()).kind, Kind::revoked);
}

TEST(CrlJudgeTest, PartitionForAnotherDistributionPointNeverMakesACertificateGood) {
    const auto& cert = leaf_in(kPartition1);
    auto r = judge({held(partition(kPartition2), "p2")}, cert.get());
    EXPECT_EQ(r.kind, Kind::error);
    EXPECT_NE(r.detail.find("out_of_scope"), std::string::npos) << r.detail;
}

TEST(CrlJudgeTest, PartitionOfTheCertificatesDistributionPointDecides) {
    const auto& cert = leaf_in(kPartition1);
    EXPECT_EQ(judge({held(partition(kPartition1, {cert.get()}), "p1")}, cert.get()).kind, Kind::revoked);
    EXPECT_EQ(judge({held(partition(kPartition1), "p1")}, cert.get()).kind, Kind::good);
}

TEST(CrlJudgeTest, OtherPartitionListedFirstDoesNotHideTheRevocation) {
    const auto& cert = leaf_in(kPartition1);
    auto r = judge_every_order({held(partition(kPartition2), "a-p2"), held(partition(kPartition1, {cert.get()}), "b-p1")},
                               cert.get());
    EXPECT_EQ(r.kind, Kind::revoked);
    EXPECT_EQ(r.source, "b-p1");
}

TEST(CrlJudgeTest, CompleteAndPartitionCombineAndEitherRevokes) {
    const auto& cert = leaf_in(kPartition1);
    auto complete_listing = held(issuing_crl({cert.get()}), "a-complete");
    auto partition_empty = held(partition(kPartition1), "b-p1");
    EXPECT_EQ(judge_every_order({complete_listing, partition_empty}, cert.get()).kind, Kind::revoked);
}

TEST(CrlJudgeTest, PartitionedCrlDoesNotCoverACertificateWithoutDistributionPoints) {
    EXPECT_EQ(judge({held(partition(kPartition1), "p1")}, pki().leaf.get()).kind, Kind::error);
}

TEST(CrlJudgeTest, CrlOfAnotherIssuerIsNotEvidence) {
    auto roots = issuing_crl({});
    roots.signer = &pki().root;
    auto r = judge({held(roots, "root.crl")}, pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::error);
    EXPECT_NE(r.detail.find("root.crl: wrong_issuer"), std::string::npos) << r.detail;
}

TEST(CrlJudgeTest, ExpiredCrlIsSkippedAndACurrentOneDecides) {
    auto expired = issuing_crl({}, test_now - 9 * one_day);
    expired.next_update = test_now - 2 * one_day;
    auto current = issuing_crl({pki().leaf.get()});
    EXPECT_EQ(judge_every_order({held(expired, "a"), held(current, "b")}, pki().leaf.get()).kind, Kind::revoked);
    EXPECT_EQ(judge({held(expired, "a")}, pki().leaf.get()).kind, Kind::error);
}

TEST(CrlJudgeTest, NothingHeldIsAnError) {
    EXPECT_EQ(judge({}, pki().leaf.get()).kind, Kind::error);
}

TEST(CrlJudgeTest, EachCertificateIsJudgedByItsOwnSerial) {
    auto crls = std::vector<HeldCrl>{held(issuing_crl({pki().other_leaf.get()}), "c")};
    EXPECT_EQ(judge(crls, pki().leaf.get()).kind, Kind::good);
    EXPECT_EQ(judge(crls, pki().other_leaf.get()).kind, Kind::revoked);
}

}  // namespace
}  // namespace ocspgate::ocsp
