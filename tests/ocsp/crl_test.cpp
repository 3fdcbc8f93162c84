#include "ocsp/crl.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "support/test_pki.h"
#include "signed_crl_fixture.h"

namespace ocspgate::ocsp {
namespace {

using namespace std::chrono_literals;
using fixtures::at;
using fixtures::CrlSpec;
using fixtures::one_day;
using fixtures::pki;
using fixtures::RevokedSpec;
using fixtures::test_now;

// The issuing CA's CRL revoking pki().other_leaf (keyCompromise); tests change one thing.
CrlSpec issuing_crl() {
    CrlSpec spec;
    spec.signer = &pki().issuing;
    spec.revoked.push_back(RevokedSpec{pki().other_leaf.get(), test_now - 2 * one_day, 1});
    return spec;
}


class CrlTest : public ::testing::Test {
protected:
    CrlVerification check(const CrlSpec& spec, X509* cert, X509* issuer = pki().issuing.get()) {
        crl_ = fixtures::make_crl(spec);
        return check_crl(CrlCheckInput{hold(crl_.get()), issuer, at(test_now), 300s}, cert);
    }

    // `crl` as ocspgate holds it, kept until the next call.
    const SignedCrl* hold(X509_CRL* crl) {
        held_ = read_signed(crl);
        return held_.get();
    }

    static CrlCheck check_of(const CrlVerification& v) {
        if (const auto* failure = std::get_if<CrlFailure>(&v))
            ADD_FAILURE() << "rejected: " << to_string(failure->kind) << ": " << failure->detail;
        return std::holds_alternative<CrlCheck>(v) ? std::get<CrlCheck>(v) : CrlCheck{};
    }

    static CrlError error_of(const CrlVerification& v) {
        if (!std::holds_alternative<CrlFailure>(v)) {
            ADD_FAILURE() << "accepted with status " << to_string(std::get<CrlCheck>(v).status);
            return CrlError::malformed;
        }
        return std::get<CrlFailure>(v).kind;
    }

    tls::X509CrlPtr crl_;
    std::shared_ptr<const SignedCrl> held_;
};

// --- lookup ---------------------------------------------------------------------------

TEST_F(CrlTest, ListedSerialIsRevokedWithTimeAndReason) {
    const CrlCheck result = check_of(check(issuing_crl(), pki().other_leaf.get()));
    EXPECT_EQ(result.status, CertStatus::revoked);
    EXPECT_EQ(result.revocation_time, at(test_now - 2 * one_day));
    EXPECT_EQ(result.revocation_reason, 1);  // keyCompromise
}

TEST_F(CrlTest, RevokedWithoutReasonCodeHasReasonMinusOne) {
    auto spec = issuing_crl();
    spec.revoked[0].reason = -1;
    EXPECT_EQ(check_of(check(spec, pki().other_leaf.get())).revocation_reason, -1);
}

TEST_F(CrlTest, UnlistedSerialIsGood) {
    const CrlCheck result = check_of(check(issuing_crl(), pki().leaf.get()));
    EXPECT_EQ(result.status, CertStatus::good);
    EXPECT_EQ(result.this_update, at(test_now - 3600));
    EXPECT_EQ(result.next_update, at(test_now + 7 * one_day));
    EXPECT_FALSE(result.revocation_time);
}

TEST_F(CrlTest, EmptyCrlSaysGood) {
    auto spec = issuing_crl();
    spec.revoked.clear();
    EXPECT_EQ(check_of(check(spec, pki().other_leaf.get())).status, CertStatus::good);
}

// --- issuer and signature -------------------------------------------------------------

TEST_F(CrlTest, CrlOfAnotherCaIsWrongIssuer) {
    auto spec = issuing_crl();
    spec.signer = &pki().root;
    EXPECT_EQ(error_of(check(spec, pki().other_leaf.get())), CrlError::wrong_issuer);
}

TEST_F(CrlTest, IssuerNameMismatchIsWrongIssuer) {
    auto spec = issuing_crl();
    spec.issuer_name = X509_get_subject_name(pki().root.get());  // signed by issuing's key
    EXPECT_EQ(error_of(check(spec, pki().other_leaf.get())), CrlError::wrong_issuer);
}

TEST_F(CrlTest, IssuerWithoutCrlSignKeyUsageIsWrongIssuer) {
    auto spec = issuing_crl();
    spec.signer = &pki().ca_no_crlsign;
    EXPECT_EQ(error_of(check(spec, pki().other_leaf.get(), pki().ca_no_crlsign.get())),
              CrlError::wrong_issuer);
}

TEST_F(CrlTest, SameNameOtherKeyIsBadSignature) {
    auto spec = issuing_crl();
    spec.signer = &pki().impostor;  // subject equals issuing's, key does not
    EXPECT_EQ(error_of(check(spec, pki().other_leaf.get())), CrlError::bad_signature);
}

TEST_F(CrlTest, AlteredCrlIsBadSignature) {
    crl_ = fixtures::make_crl(issuing_crl());
    auto der = fixtures::der_of(crl_.get());
    der[der.size() - 1] ^= 0x01;  // last byte of the ECDSA signature's s
    auto parsed = SignedCrl::read(der);
    ASSERT_TRUE(parsed.ok());
    const auto result = check_crl(
        CrlCheckInput{parsed->get(), pki().issuing.get(), at(test_now), 300s}, pki().leaf.get());
    EXPECT_EQ(error_of(result), CrlError::bad_signature);
}

// --- freshness ------------------------------------------------------------------------

TEST_F(CrlTest, ThisUpdateInTheFutureIsNotYetValid) {
    auto spec = issuing_crl();
    spec.this_update = test_now + 301;
    EXPECT_EQ(error_of(check(spec, pki().leaf.get())), CrlError::not_yet_valid);
}

TEST_F(CrlTest, ThisUpdateInTheFutureWithinSkewIsAccepted) {
    auto spec = issuing_crl();
    spec.this_update = test_now + 299;
    EXPECT_EQ(check_of(check(spec, pki().leaf.get())).status, CertStatus::good);
}

TEST_F(CrlTest, PassedNextUpdateIsExpired) {
    auto spec = issuing_crl();
    spec.this_update = test_now - 8 * one_day;
    spec.next_update = test_now - 301;
    EXPECT_EQ(error_of(check(spec, pki().leaf.get())), CrlError::expired);
}

TEST_F(CrlTest, PassedNextUpdateWithinSkewIsAccepted) {
    auto spec = issuing_crl();
    spec.this_update = test_now - 8 * one_day;
    spec.next_update = test_now - 299;
    EXPECT_EQ(check_of(check(spec, pki().leaf.get())).status, CertStatus::good);
}

TEST_F(CrlTest, PassedNextUpdateWithinGraceIsAccepted) {
    auto spec = issuing_crl();
    spec.this_update = test_now - 8 * one_day;
    spec.next_update = test_now - 3600;
    crl_ = fixtures::make_crl(spec);
    CrlCheckInput in{hold(crl_.get()), pki().issuing.get(), at(test_now), 300s};
    in.grace = 3600s;
    EXPECT_EQ(check_of(check_crl(in, pki().leaf.get())).status, CertStatus::good);
    in.grace = 3000s;
    const auto refused = check_crl(in, pki().leaf.get());
    EXPECT_EQ(error_of(refused), CrlError::expired);
    EXPECT_NE(std::get<CrlFailure>(refused).detail.find("grace 3000s"), std::string::npos);
}

TEST_F(CrlTest, MissingNextUpdateIsAccepted) {
    auto spec = issuing_crl();
    spec.next_update.reset();
    EXPECT_FALSE(check_of(check(spec, pki().leaf.get())).next_update);
}

// --- what we do not support -----------------------------------------------------------

TEST_F(CrlTest, DeltaCrlVerifiesAndCarriesItsBaseNumber) {
    auto spec = issuing_crl();
    spec.number = 12;
    spec.delta_of = 10;
    const CrlCheck result = check_of(check(spec, pki().other_leaf.get()));
    ASSERT_TRUE(result.delta_base && result.number);
    EXPECT_EQ(result.delta_base->to_string(), "10");
    EXPECT_EQ(result.number->to_string(), "12");
    EXPECT_EQ(result.status, CertStatus::revoked);
}

TEST_F(CrlTest, CompleteCrlHasNoBaseNumber) {
    auto spec = issuing_crl();
    spec.number = 3;
    EXPECT_FALSE(check_of(check(spec, pki().leaf.get())).delta_base);
}

TEST_F(CrlTest, FreshestCrlIsNoted) {
    auto spec = issuing_crl();
    EXPECT_FALSE(check_of(check(spec, pki().leaf.get())).names_deltas);
    spec.extensions = {{NID_freshest_crl, "URI:http://crl.example/delta.crl"}};
    EXPECT_TRUE(check_of(check(spec, pki().leaf.get())).names_deltas);
}

TEST_F(CrlTest, NegativeCrlNumberIsMalformed) {
    auto spec = issuing_crl();
    spec.number = -1;
    EXPECT_EQ(error_of(check(spec, pki().leaf.get())), CrlError::malformed);
}

TEST_F(CrlTest, RemoveFromCrlEntryIsRemovedNotRevoked) {
    auto spec = issuing_crl();
    spec.delta_of = 1;
    spec.revoked[0].reason = fixtures::crl_reason_remove_from_crl;
    const CrlCheck result = check_of(check(spec, pki().other_leaf.get()));
    EXPECT_EQ(result.status, CertStatus::good);
    EXPECT_TRUE(result.removed);
}

TEST_F(CrlTest, CertificateHoldEntryIsRevokedWithReasonHold) {
    auto spec = issuing_crl();
    spec.revoked[0].reason = fixtures::crl_reason_certificate_hold;
    const CrlCheck result = check_of(check(spec, pki().other_leaf.get()));
    EXPECT_EQ(result.status, CertStatus::revoked);
    EXPECT_EQ(result.revocation_reason, reason_certificate_hold);
}

TEST_F(CrlTest, IndirectCrlIsUnsupported) {
    auto spec = issuing_crl();
    spec.extensions = {{NID_issuing_distribution_point, "critical,indirectCRL:TRUE"}};
    EXPECT_EQ(error_of(check(spec, pki().leaf.get())), CrlError::unsupported);
}

TEST_F(CrlTest, CrlPartitionedByReasonCoversOnlyItsReasons) {
    auto spec = issuing_crl();
    spec.extensions = {fixtures::idp_extension("", {1, 2})};  // keyCompromise, cACompromise
    const CrlCheck result = check_of(check(spec, pki().leaf.get()));
    EXPECT_EQ(result.status, CertStatus::good);
    EXPECT_EQ(result.reasons, (1u << 1) | (1u << 2));
    EXPECT_EQ(describe_reasons(result.reasons), "keyCompromise,cACompromise");
}

TEST_F(CrlTest, CrlWithoutOnlySomeReasonsCoversEveryReason) {
    EXPECT_EQ(check_of(check(issuing_crl(), pki().leaf.get())).reasons, all_reasons);
}

TEST_F(CrlTest, DistributionPointReasonsNarrowAPartitionedCrl) {
    constexpr const char* point = "http://crl.example/kc.crl";
    fixtures::CertSpec cert_spec{"/O=Test/CN=leaf with reasons", &pki().issuing, 0x2101, fixtures::leaf_extensions()};
    cert_spec.extensions.push_back(fixtures::crl_dp_extension(point, {1}));  // keyCompromise only
    const auto cert = fixtures::make_cert(cert_spec);
    auto spec = issuing_crl();
    spec.extensions = {fixtures::idp_extension(point, {1, 2})};
    EXPECT_EQ(check_of(check(spec, cert.get())).reasons, 1u << 1);
    spec.extensions = {fixtures::idp_extension(point, {2})};  // nothing in common
    EXPECT_EQ(error_of(check(spec, cert.get())), CrlError::out_of_scope);
}

TEST_F(CrlTest, UnknownCriticalExtensionIsUnsupported) {
    auto spec = issuing_crl();
    spec.critical_unknown_extension = true;
    EXPECT_EQ(error_of(check(spec, pki().leaf.get())), CrlError::unsupported);
}

TEST_F(CrlTest, UnknownCriticalEntryExtensionIsUnsupportedForEveryCertificate) {
    auto spec = issuing_crl();
    spec.revoked[0].critical_unknown_extension = true;  // other_leaf's entry
    const auto refused = check(spec, pki().leaf.get());
    EXPECT_EQ(error_of(refused), CrlError::unsupported);
    EXPECT_EQ(std::get<CrlFailure>(refused).detail, "unsupported critical CRL entry extension (unknown OID)");
}

TEST_F(CrlTest, UserCertsOnlyCrlCoversLeaves) {
    auto spec = issuing_crl();
    spec.extensions = {{NID_issuing_distribution_point, "critical,onlyuser:TRUE"}};
    EXPECT_EQ(check_of(check(spec, pki().other_leaf.get())).status, CertStatus::revoked);
}

TEST_F(CrlTest, CaCertsOnlyCrlDoesNotCoverLeaves) {
    auto spec = issuing_crl();
    spec.extensions = {{NID_issuing_distribution_point, "critical,onlyCA:TRUE"}};
    EXPECT_EQ(error_of(check(spec, pki().other_leaf.get())), CrlError::out_of_scope);
}

TEST_F(CrlTest, UserCertsOnlyCrlDoesNotCoverCas) {
    auto spec = issuing_crl();
    spec.signer = &pki().root;
    spec.extensions = {{NID_issuing_distribution_point, "critical,onlyuser:TRUE"}};
    EXPECT_EQ(error_of(check(spec, pki().issuing.get(), pki().root.get())), CrlError::out_of_scope);
}

// --- a separate CRL signer ---------------------------------------------------------------

TEST_F(CrlTest, CrlOfASeparateSignerVerifiesWithThatSigner) {
    auto spec = issuing_crl();
    spec.signer = &pki().crl_signer;  // issuing's name, another key
    crl_ = fixtures::make_crl(spec);
    CrlCheckInput in{hold(crl_.get()), pki().issuing.get(), at(test_now), 300s};
    EXPECT_EQ(error_of(check_crl(in, pki().other_leaf.get())), CrlError::bad_signature);
    in.signer = pki().crl_signer.get();
    EXPECT_EQ(check_of(check_crl(in, pki().other_leaf.get())).status, CertStatus::revoked);
}

TEST_F(CrlTest, SignerOfAnotherNameIsWrongIssuer) {
    auto spec = issuing_crl();
    spec.signer = &pki().root;
    spec.issuer_name = X509_get_subject_name(pki().issuing.get());
    crl_ = fixtures::make_crl(spec);
    CrlCheckInput in{hold(crl_.get()), pki().issuing.get(), at(test_now), 300s};
    in.signer = pki().root.get();
    EXPECT_EQ(error_of(check_crl(in, pki().leaf.get())), CrlError::wrong_issuer);
}

TEST_F(CrlTest, SignerWithoutCrlSignIsWrongIssuer) {
    const auto signer = fixtures::make_cert({"/O=Test/CN=Test Issuing", &pki().root, 0x6101,
                                             {{NID_key_usage, "critical,digitalSignature"}}});
    auto spec = issuing_crl();
    spec.signer = &signer;
    crl_ = fixtures::make_crl(spec);
    CrlCheckInput in{hold(crl_.get()), pki().issuing.get(), at(test_now), 300s};
    in.signer = signer.get();
    const auto refused = check_crl(in, pki().leaf.get());
    EXPECT_EQ(error_of(refused), CrlError::wrong_issuer);
    EXPECT_EQ(std::get<CrlFailure>(refused).detail, "CRL signer's keyUsage lacks cRLSign");
}

// --- CRL numbers ------------------------------------------------------------------------

TEST(CrlNumberTest, ComparesByValueWhateverTheEncodingLength) {
    auto number = [](const char* hex) {
        BIGNUM* bn = nullptr;
        EXPECT_GT(BN_hex2bn(&bn, hex), 0);
        tls::BignumPtr owned(bn);
        tls::Asn1IntegerPtr integer(BN_to_ASN1_INTEGER(bn, nullptr));
        return *CrlNumber::from(integer.get());
    };
    EXPECT_LT(number("FF"), number("0100"));
    EXPECT_EQ(number("0"), number("00"));
    EXPECT_GT(number("0102030405060708090A0B0C0D0E0F1011121314"), number("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"));
    EXPECT_EQ(number("0100").to_string(), "256");
}

// --- verify once, look up many --------------------------------------------------------

TEST_F(CrlTest, VerifyThenLookupGivesTheSameAnswerAsCheck) {
    crl_ = fixtures::make_crl(issuing_crl());
    const CrlCheckInput in{hold(crl_.get()), pki().issuing.get(), at(test_now), 300s};
    ASSERT_TRUE(std::holds_alternative<CrlCheck>(verify_crl(in)));
    EXPECT_EQ(check_of(lookup(*held_, pki().other_leaf.get())).status, CertStatus::revoked);
    EXPECT_EQ(check_of(lookup(*held_, pki().leaf.get())).status, CertStatus::good);
}

TEST_F(CrlTest, RejectionLeavesOpensslErrorQueueEmpty) {
    auto spec = issuing_crl();
    spec.signer = &pki().impostor;
    ASSERT_EQ(error_of(check(spec, pki().leaf.get())), CrlError::bad_signature);
    EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(CrlErrorTest, FailuresMapToProjectErrorCodes) {
    EXPECT_EQ(to_error({CrlError::malformed, "x"}).code, Errc::parse);
    EXPECT_EQ(to_error({CrlError::bad_signature, "x"}).code, Errc::verify);
    EXPECT_EQ(to_error({CrlError::expired, "x"}).message, "CRL expired: x");
}

}  // namespace
}  // namespace ocspgate::ocsp
