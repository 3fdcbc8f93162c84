#include "ocsp/crl_judge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "signed_crl_fixture.h"
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
    return HeldCrl{read_signed(fixtures::make_crl(spec).get()), std::move(source)};
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
    EXPECT_STREQ(r.no_answer, "crl_out_of_scope");
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
    EXPECT_STREQ(judge({held(expired, "a")}, pki().leaf.get()).no_answer, "crl_expired");
}

// The metrics word names the CRL's own fault before a partition that does not apply.
TEST(CrlJudgeTest, NoAnswerReasonPrefersTheUsableCrlsFaultToAnotherPartition) {
    const auto& cert = leaf_in(kPartition1);
    auto expired = partition(kPartition1);
    expired.this_update = test_now - 9 * one_day;
    expired.next_update = test_now - 2 * one_day;
    auto r = judge_every_order({held(partition(kPartition2), "a-p2"), held(expired, "b-p1")}, cert.get());
    EXPECT_EQ(r.kind, Kind::error);
    EXPECT_STREQ(r.no_answer, "crl_expired");
}

// `ocspgate check` lists the CRLs not used one by one, with the reasons the detail gives.
TEST(CrlJudgeTest, NotUsedListsEachRefusedCrlWithItsReason) {
    auto roots = issuing_crl({});
    roots.signer = &pki().root;
    auto expired = issuing_crl({}, test_now - 9 * one_day);
    expired.next_update = test_now - 2 * one_day;
    std::vector<HeldCrl> crls{held(roots, "root.crl"), held(expired, "old.crl"),
                              held(issuing_crl({pki().leaf.get()}), "now.crl")};
    std::vector<CrlNotUsed> not_used;
    const CrlJudgeInput in{pki().leaf.get(), pki().issuing.get(), at(test_now), 300s};
    auto r = judge_certificate(crls, in, &not_used);
    EXPECT_EQ(r.kind, Kind::revoked);
    EXPECT_EQ(r.source, "now.crl");
    ASSERT_EQ(not_used.size(), 2u);
    EXPECT_EQ(not_used[0].source, "root.crl");
    EXPECT_EQ(not_used[0].reason.rfind("wrong_issuer: ", 0), 0u) << not_used[0].reason;
    EXPECT_EQ(not_used[1].source, "old.crl");
    EXPECT_EQ(not_used[1].reason.rfind("expired: ", 0), 0u) << not_used[1].reason;
    for (const auto& n : not_used)
        EXPECT_NE(r.detail.find(n.source + ": " + n.reason), std::string::npos) << r.detail;
}

TEST(CrlJudgeTest, NothingHeldIsAnError) {
    EXPECT_EQ(judge({}, pki().leaf.get()).kind, Kind::error);
    EXPECT_STREQ(judge({}, pki().leaf.get()).no_answer, "crl_unavailable");
}

TEST(CrlJudgeTest, EachCertificateIsJudgedByItsOwnSerial) {
    auto crls = std::vector<HeldCrl>{held(issuing_crl({pki().other_leaf.get()}), "c")};
    EXPECT_EQ(judge(crls, pki().leaf.get()).kind, Kind::good);
    EXPECT_EQ(judge(crls, pki().other_leaf.get()).kind, Kind::revoked);
}

// --- reasons (RFC 5280 §6.3.3 d, j) ------------------------------------------------------

// A complete CRL of the issuing CA limited to `reasons` (ReasonFlags bits).
CrlSpec reasons_crl(std::vector<int> reasons, std::vector<X509*> revoked = {}) {
    auto spec = issuing_crl(std::move(revoked));
    spec.extensions = {fixtures::idp_extension("", reasons)};
    return spec;
}

const std::vector<int> kCompromises{1, 2, 8};     // keyCompromise, cACompromise, aACompromise
const std::vector<int> kOtherReasons{3, 4, 5, 6, 7};

TEST(CrlJudgeTest, ReasonPartitionsCoveringEveryReasonTogetherMakeACertificateGood) {
    auto r = judge_every_order({held(reasons_crl(kCompromises), "a-compromises"), held(reasons_crl(kOtherReasons), "b-others")},
                               pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::good) << r.detail;
    EXPECT_NE(r.source.find("a-compromises"), std::string::npos) << r.source;
    EXPECT_NE(r.source.find("b-others"), std::string::npos) << r.source;
}

TEST(CrlJudgeTest, ReasonPartitionsMissingAReasonGiveNoAnswer) {
    auto r = judge({held(reasons_crl(kCompromises), "compromises")}, pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::error);
    EXPECT_NE(r.detail.find("cover only the reasons keyCompromise,cACompromise,aACompromise"), std::string::npos)
        << r.detail;
    EXPECT_NE(r.detail.find("not affiliationChanged,superseded,cessationOfOperation,certificateHold,privilegeWithdrawn"),
              std::string::npos)
        << r.detail;
    EXPECT_STREQ(r.no_answer, "crl_reasons_uncovered");
}

TEST(CrlJudgeTest, AReasonPartitionListingTheCertificateRevokesItAlone) {
    auto r = judge({held(reasons_crl(kCompromises, {pki().leaf.get()}), "compromises")}, pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::revoked);
}

TEST(CrlJudgeTest, AReasonPartitionListingTheCertificateRevokesWhateverTheOthersSay) {
    auto r = judge_every_order({held(reasons_crl(kCompromises), "a-compromises"),
                                held(reasons_crl(kOtherReasons, {pki().leaf.get()}), "b-others")},
                               pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::revoked);
    EXPECT_EQ(r.source, "b-others");
}

TEST(CrlJudgeTest, NewestCrlOfEachReasonPartitionDecides) {
    auto old_listing = reasons_crl(kOtherReasons, {pki().leaf.get()});
    old_listing.number = 4;
    auto newer_empty = reasons_crl(kOtherReasons);
    newer_empty.number = 5;
    auto r = judge_every_order(
        {held(reasons_crl(kCompromises), "a-compromises"), held(old_listing, "b-old"), held(newer_empty, "c-new")},
        pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::good) << r.detail;
}

TEST(CrlJudgeTest, DistributionPointReasonsLimitWhatItsPartitionCovers) {
    constexpr const char* point = "http://crl.example/compromises.crl";
    fixtures::CertSpec spec{"/O=Test/CN=leaf with a reasons point", &pki().issuing, 0x2201, fixtures::leaf_extensions()};
    spec.extensions.push_back(fixtures::crl_dp_extension(point, kCompromises));
    const auto cert = fixtures::make_cert(spec);
    auto partition_crl = issuing_crl();
    partition_crl.extensions = {fixtures::idp_extension(point, {})};
    auto r = judge({held(partition_crl, "compromises")}, cert.get());
    EXPECT_EQ(r.kind, Kind::error) << "the point's CRL speaks for the compromise reasons only";
    EXPECT_EQ(judge({held(partition_crl, "compromises"), held(issuing_crl(), "complete")}, cert.get()).kind, Kind::good);
}

// --- delta CRLs (RFC 5280 §5.2.4, §6.3.3 c) ---------------------------------------------

struct Listing {
    X509* cert;
    int reason;
};

CrlSpec numbered(long number, std::vector<Listing> listed = {}, std::optional<long> delta_of = std::nullopt) {
    auto spec = issuing_crl();
    spec.number = number;
    spec.delta_of = delta_of;
    spec.revoked.clear();
    for (const auto& l : listed) spec.revoked.push_back(RevokedSpec{l.cert, test_now - 2 * one_day, l.reason});
    return spec;
}

CrlSpec naming_deltas(CrlSpec spec) {
    spec.extensions.push_back({NID_freshest_crl, "URI:http://crl.example/delta.crl"});
    return spec;
}

constexpr int kKeyCompromise = 1;
constexpr int kHold = fixtures::crl_reason_certificate_hold;
constexpr int kRemove = fixtures::crl_reason_remove_from_crl;

TEST(CrlJudgeTest, DeltaListingTheCertificateRevokesItOverAGoodBase) {
    auto r = judge_every_order({held(numbered(10), "a-base"), held(numbered(11, {{pki().leaf.get(), kKeyCompromise}}, 10), "b-delta")},
                               pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::revoked);
    EXPECT_EQ(r.source, "b-delta");
}

TEST(CrlJudgeTest, DeltaNotListingTheCertificateLeavesTheBasesAnswer) {
    auto crls = std::vector<HeldCrl>{held(numbered(10, {{pki().other_leaf.get(), kKeyCompromise}}), "a-base"),
                                     held(numbered(11, {}, 10), "b-delta")};
    auto good = judge_every_order(crls, pki().leaf.get());
    EXPECT_EQ(good.kind, Kind::good);
    EXPECT_EQ(good.source, "a-base + b-delta");
    EXPECT_EQ(judge_every_order(crls, pki().other_leaf.get()).kind, Kind::revoked);
}

TEST(CrlJudgeTest, DeltaRemoveFromCrlTakesACertificateOffHold) {
    auto r = judge_every_order({held(numbered(10, {{pki().leaf.get(), kHold}}), "a-base"),
                                held(numbered(11, {{pki().leaf.get(), kRemove}}, 10), "b-delta")},
                               pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::good) << r.detail;
}

TEST(CrlJudgeTest, DeltaRemoveFromCrlDoesNotUndoAKeyCompromise) {
    auto r = judge_every_order({held(numbered(10, {{pki().leaf.get(), kKeyCompromise}}), "a-base"),
                                held(numbered(11, {{pki().leaf.get(), kRemove}}, 10), "b-delta")},
                               pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::revoked);
    EXPECT_NE(r.detail.find("removeFromCRL ignored"), std::string::npos) << r.detail;
}

TEST(CrlJudgeTest, CertificateOnHoldInTheBaseStaysRevokedWhenTheDeltaSaysNothing) {
    auto r = judge_every_order({held(numbered(10, {{pki().leaf.get(), kHold}}), "a-base"), held(numbered(11, {}, 10), "b-delta")},
                               pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::revoked);
}

TEST(CrlJudgeTest, NewestApplicableDeltaDecides) {
    auto r = judge_every_order({held(numbered(10, {{pki().leaf.get(), kHold}}), "a-base"),
                                held(numbered(11, {{pki().leaf.get(), kRemove}}, 10), "b-delta"),
                                held(numbered(12, {{pki().leaf.get(), kHold}}, 10), "c-delta")},
                               pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::revoked) << "put on hold again by the newest delta";
}

TEST(CrlJudgeTest, DeltaWithoutABaseGivesNoAnswer) {
    auto r = judge({held(numbered(11, {}, 10), "delta")}, pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::error);
    EXPECT_NE(r.detail.find("delta: delta_unusable: no complete CRL of its scope is held"), std::string::npos) << r.detail;
}

TEST(CrlJudgeTest, DeltaOnANewerBaseThanTheOneHeldIsNotApplied) {
    auto r = judge({held(numbered(10), "base"), held(numbered(13, {{pki().leaf.get(), kKeyCompromise}}, 12), "delta")},
                   pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::good) << "the base alone, since it names no deltas";
    EXPECT_NE(r.detail.find("BaseCRLNumber 12 is above the complete CRL's 10"), std::string::npos) << r.detail;
}

TEST(CrlJudgeTest, DeltaOlderThanTheBaseIsNotApplied) {
    auto r = judge_every_order({held(numbered(12), "a-base"), held(numbered(11, {{pki().leaf.get(), kKeyCompromise}}, 10), "b-delta")},
                               pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::good) << "the base of 12 already holds what the delta of 11 says";
}

TEST(CrlJudgeTest, DeltaOfAnotherScopeIsNotApplied) {
    auto delta = numbered(11, {{pki().leaf.get(), kKeyCompromise}}, 10);
    delta.extensions = {{NID_issuing_distribution_point, "critical,onlyuser:TRUE"}};
    auto r = judge({held(numbered(10), "base"), held(delta, "delta")}, pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::good);
    EXPECT_NE(r.detail.find("delta: delta_unusable"), std::string::npos) << r.detail;
}

TEST(CrlJudgeTest, BaseNamingDeltasWithoutOneHeldGivesNoAnswer) {
    auto r = judge({held(naming_deltas(numbered(10)), "base")}, pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::error);
    EXPECT_NE(r.detail.find("base: delta_missing"), std::string::npos) << r.detail;
    EXPECT_STREQ(r.no_answer, "crl_delta_missing");
}

TEST(CrlJudgeTest, BaseNamingDeltasAnswersAloneWhenDeltasAreNotRequired) {
    auto crls = std::vector<HeldCrl>{held(naming_deltas(numbered(10)), "base")};
    auto r = judge_certificate(crls, CrlJudgeInput{pki().leaf.get(), pki().issuing.get(), at(test_now), 300s, 0s, false});
    EXPECT_EQ(r.kind, Kind::good);
}

TEST(CrlJudgeTest, BaseNamingDeltasRevokesWhatItListsWithoutTheDelta) {
    auto r = judge({held(naming_deltas(numbered(10, {{pki().leaf.get(), kKeyCompromise}})), "base")}, pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::revoked);
}

TEST(CrlJudgeTest, BaseNamingDeltasIsCompleteWithADeltaIssuedWithIt) {
    // RFC 5280 §5.2.3: a complete and a delta CRL issued together carry the same number.
    auto r = judge_every_order({held(naming_deltas(numbered(10)), "a-base"), held(numbered(10, {}, 9), "b-delta")},
                               pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::good) << r.detail;
}

// --- a separate CRL signer (RFC 5280 §6.3.3 f, g) ----------------------------------------

CrlSpec signed_by_signer(std::vector<X509*> revoked = {}) {
    auto spec = issuing_crl(std::move(revoked));
    spec.signer = &pki().crl_signer;
    return spec;
}

// The root's own CRL, listing `revoked`: the CRL signer's own revocation status.
CrlSpec roots_crl(std::vector<X509*> revoked = {}) {
    auto spec = issuing_crl(std::move(revoked));
    spec.signer = &pki().root;
    return spec;
}

MethodResult judge_with_signers(std::vector<HeldCrl> crls, X509* cert, std::vector<X509*> signers,
                                X509* anchor = pki().root.get()) {
    CrlJudgeInput in{cert, pki().issuing.get(), at(test_now), 300s};
    in.signers = signers;
    in.anchor = anchor;
    return judge_certificate(crls, in);
}

TEST(CrlJudgeTest, CrlOfASeparateSignerChainingToTheAnchorDecides) {
    auto crls = std::vector<HeldCrl>{held(signed_by_signer({pki().other_leaf.get()}), "signed"), held(roots_crl(), "root")};
    EXPECT_EQ(judge_with_signers(crls, pki().leaf.get(), {pki().crl_signer.get()}).kind, Kind::good);
    EXPECT_EQ(judge_with_signers(crls, pki().other_leaf.get(), {pki().crl_signer.get()}).kind, Kind::revoked);
}

TEST(CrlJudgeTest, CrlOfASeparateSignerIsNotUsedWhenTheSignerIsNotConfigured) {
    auto r = judge_with_signers({held(signed_by_signer(), "signed"), held(roots_crl(), "root")}, pki().leaf.get(), {});
    EXPECT_EQ(r.kind, Kind::error);
    EXPECT_NE(r.detail.find("signed: bad_signature"), std::string::npos) << r.detail;
}

TEST(CrlJudgeTest, RevokedCrlSignerIsNotUsed) {
    auto r = judge_with_signers({held(signed_by_signer(), "signed"), held(roots_crl({pki().crl_signer.get()}), "root")},
                                pki().leaf.get(), {pki().crl_signer.get()});
    EXPECT_EQ(r.kind, Kind::error);
    EXPECT_NE(r.detail.find("signed: signer_unverified: CRL signer /O=Test/CN=Test Issuing serial 6002 is revoked (root)"),
              std::string::npos)
        << r.detail;
}

TEST(CrlJudgeTest, CrlSignerWithoutRevocationAnswerIsNotUsed) {
    auto r = judge_with_signers({held(signed_by_signer(), "signed")}, pki().leaf.get(), {pki().crl_signer.get()});
    EXPECT_EQ(r.kind, Kind::error);
    EXPECT_NE(r.detail.find("has no revocation answer"), std::string::npos) << r.detail;
}

TEST(CrlJudgeTest, CrlSignerOfAnotherTrustAnchorIsNotUsed) {
    auto r = judge_with_signers({held(signed_by_signer(), "signed"), held(roots_crl(), "root")}, pki().leaf.get(),
                                {pki().crl_signer.get()}, pki().pinned.get());
    EXPECT_EQ(r.kind, Kind::error);
    EXPECT_NE(r.detail.find("signer_unverified: CRL signer's path does not validate"), std::string::npos) << r.detail;
}

TEST(CrlJudgeTest, CrlSignerIsNotUsedWithoutAKnownAnchor) {
    auto r = judge_with_signers({held(signed_by_signer(), "signed"), held(roots_crl(), "root")}, pki().leaf.get(),
                                {pki().crl_signer.get()}, nullptr);
    EXPECT_EQ(r.kind, Kind::error);
}

TEST(CrlJudgeTest, SelfSignedImpostorSignerIsNotUsed) {
    auto spec = issuing_crl();
    spec.signer = &pki().impostor;  // issuing's name, cRLSign, chains to nothing we trust
    auto r = judge_with_signers({held(spec, "impostor"), held(roots_crl(), "root")}, pki().leaf.get(), {pki().impostor.get()});
    EXPECT_EQ(r.kind, Kind::error);
    EXPECT_NE(r.detail.find("impostor: signer_unverified"), std::string::npos) << r.detail;
}

TEST(CrlJudgeTest, DeltaSignedByAnotherKeyThanItsBaseIsNotApplied) {
    auto delta = numbered(11, {{pki().leaf.get(), kKeyCompromise}}, 10);
    delta.signer = &pki().crl_signer;
    auto r = judge_with_signers({held(numbered(10), "base"), held(delta, "delta"), held(roots_crl(), "root")},
                                pki().leaf.get(), {pki().crl_signer.get()});
    EXPECT_EQ(r.kind, Kind::good);
    EXPECT_NE(r.detail.find("delta: delta_unusable: signed with another key"), std::string::npos) << r.detail;
}

// --- unusable CRLs ----------------------------------------------------------------------

TEST(CrlJudgeTest, ExpiredCrlWithinGraceIsUsed) {
    auto expired = issuing_crl({pki().leaf.get()}, test_now - 9 * one_day);
    expired.next_update = test_now - 3600;
    auto crls = std::vector<HeldCrl>{held(expired, "old")};
    EXPECT_EQ(judge_certificate(crls, CrlJudgeInput{pki().leaf.get(), pki().issuing.get(), at(test_now), 300s, 3600s}).kind,
              Kind::revoked);
    auto r = judge_certificate(crls, CrlJudgeInput{pki().leaf.get(), pki().issuing.get(), at(test_now), 300s, 600s});
    EXPECT_EQ(r.kind, Kind::error);
    EXPECT_NE(r.detail.find("old: expired: CRL nextUpdate"), std::string::npos) << r.detail;
}

TEST(CrlJudgeTest, CrlFromTheFutureIsNotUsed) {
    auto r = judge({held(issuing_crl({}, test_now + 3600), "future")}, pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::error);
    EXPECT_NE(r.detail.find("future: not_yet_valid: CRL thisUpdate"), std::string::npos) << r.detail;
}

MethodResult judge_remembering(std::vector<HeldCrl> crls, X509* cert, CrlHistory& history,
                               std::time_t now = test_now, X509* issuer = pki().issuing.get()) {
    CrlJudgeInput in{cert, issuer, at(now), 300s};
    in.history = &history;
    return judge_certificate(crls, in);
}

TEST(CrlJudgeTest, CrlNumberLowerThanOneSeenBeforeIsRefused) {
    CrlHistory history;
    EXPECT_EQ(judge_remembering({held(numbered(12, {{pki().leaf.get(), kKeyCompromise}}), "new")}, pki().leaf.get(), history).kind,
              Kind::revoked);
    auto r = judge_remembering({held(numbered(11), "replayed")}, pki().leaf.get(), history);
    EXPECT_EQ(r.kind, Kind::error);
    EXPECT_NE(r.detail.find("replayed: rolled_back: cRLNumber 11 is lower than 12, seen before from new"), std::string::npos)
        << r.detail;
}

TEST(CrlJudgeTest, RolledBackCrlIsUsedAgainOnceTheNewerOneIsNoLongerCurrent) {
    CrlHistory history;
    auto newer = numbered(12);
    newer.next_update = test_now + one_day;
    auto older = numbered(11);
    older.next_update = test_now + 7 * one_day;
    judge_remembering({held(newer, "new")}, pki().leaf.get(), history);
    EXPECT_EQ(judge_remembering({held(older, "old")}, pki().leaf.get(), history).kind, Kind::error);
    EXPECT_EQ(judge_remembering({held(older, "old")}, pki().leaf.get(), history, test_now + 2 * one_day).kind, Kind::good);
}

TEST(CrlJudgeTest, CrlNumbersAreRememberedPerScope) {
    CrlHistory history;
    auto partition_crl = [](long number) {
        auto spec = numbered(number);
        spec.extensions = {{NID_issuing_distribution_point, "critical,onlyuser:TRUE"}};
        return spec;
    };
    judge_remembering({held(partition_crl(40), "users")}, pki().leaf.get(), history);
    EXPECT_EQ(judge_remembering({held(numbered(3), "complete")}, pki().leaf.get(), history).kind, Kind::good);
}

TEST(CrlJudgeTest, CompleteAndDeltaCrlNumbersAreRememberedApart) {
    CrlHistory history;
    judge_remembering({held(numbered(10), "base"), held(numbered(13, {}, 10), "delta")}, pki().leaf.get(), history);
    EXPECT_EQ(judge_remembering({held(numbered(12), "next base")}, pki().leaf.get(), history).kind, Kind::good);
}

TEST(CrlJudgeTest, CrlNumbersOfAnotherCaOfTheSameNameDoNotCount) {
    CrlHistory history;
    auto impostors = numbered(100);
    impostors.signer = &pki().impostor;
    judge_remembering({held(impostors, "impostor")}, pki().leaf.get(), history, test_now, pki().impostor.get());
    EXPECT_EQ(judge_remembering({held(numbered(3), "real")}, pki().leaf.get(), history).kind, Kind::good);
}

TEST(CrlJudgeTest, CrlThatDidNotVerifyIsNotRemembered) {
    CrlHistory history;
    auto forged = numbered(100);
    forged.signer = &pki().impostor;  // issuing's name, another key
    judge_remembering({held(forged, "forged")}, pki().leaf.get(), history);
    EXPECT_EQ(judge_remembering({held(numbered(3), "real")}, pki().leaf.get(), history).kind, Kind::good);
}

TEST(CrlJudgeTest, RefusedCrlsAreNamedInTheDetailOfAnAnswer) {
    auto expired = issuing_crl({}, test_now - 9 * one_day);
    expired.next_update = test_now - 2 * one_day;
    auto r = judge({held(expired, "stale"), held(issuing_crl(), "current")}, pki().leaf.get());
    EXPECT_EQ(r.kind, Kind::good);
    EXPECT_NE(r.detail.find("not used: stale: expired"), std::string::npos) << r.detail;
}

}  // namespace
}  // namespace ocspgate::ocsp
