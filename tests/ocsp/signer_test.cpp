// Tests for ocsp/signer: who may sign an OCSP response about pki().leaf (RFC 6960 §4.2.2.2),
// asked of authenticate_signer() directly so that each refusal names the rule that refused.
// validate_response() as a whole is response_test.cpp's subject.
#include "ocsp/signer.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <variant>
#include <vector>

#include "support/test_pki.h"

namespace ocspgate::ocsp {

// Readable gtest messages; found by ADL.
static void PrintTo(ResponseError error, std::ostream* out) { *out << to_string(error); }

namespace {

using namespace std::chrono_literals;
using fixtures::at;
using fixtures::Issued;
using fixtures::one_day;
using fixtures::pki;
using fixtures::test_now;

// A good response about pki().leaf, signed by `signer`, decoded to its BasicOCSPResponse.
tls::OcspBasicRespPtr basic_response(const Issued& signer, bool include_certs = true, bool by_key = false) {
    fixtures::ResponseSpec spec;
    spec.singles.push_back(fixtures::SingleSpec{.cert = pki().leaf.get(), .issuer = pki().issuing.get()});
    spec.signer = &signer;
    spec.include_certs = include_certs;
    spec.responder_id_by_key = by_key;
    const auto der = fixtures::make_response(spec);
    const unsigned char* p = der.data();
    tls::OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
    if (!response) return nullptr;
    return tls::OcspBasicRespPtr(OCSP_response_get1_basic(response.get()));
}

class SignerTest : public ::testing::Test {
protected:
    SignerTest() {
        in_.cert = pki().leaf.get();
        in_.issuer = pki().issuing.get();
        in_.id = make_cert_id(in_.cert, in_.issuer).value();
        in_.now = at(test_now);
        in_.clock_skew = 300s;
    }

    std::variant<SignerKind, ResponseFailure> authenticate(const Issued& signer, bool include_certs = true,
                                                           bool by_key = false) {
        auto basic = basic_response(signer, include_certs, by_key);
        EXPECT_NE(basic, nullptr) << "the test PKI built an undecodable response";
        if (!basic) return ResponseFailure{ResponseError::malformed, "test setup"};
        in_.trusted_responders = trusted_;
        return authenticate_signer(basic.get(), in_);
    }

    static ::testing::AssertionResult authorized_as(const std::variant<SignerKind, ResponseFailure>& v,
                                                    SignerKind kind) {
        if (const auto* failure = std::get_if<ResponseFailure>(&v))
            return ::testing::AssertionFailure()
                   << "refused: " << to_string(failure->kind) << ": " << failure->detail;
        if (std::get<SignerKind>(v) != kind)
            return ::testing::AssertionFailure() << "authorized as " << to_string(std::get<SignerKind>(v));
        return ::testing::AssertionSuccess();
    }

    // The failure, or a failure of the test when the signer was authorized.
    static ResponseFailure refusal_of(const std::variant<SignerKind, ResponseFailure>& v) {
        if (const auto* kind = std::get_if<SignerKind>(&v)) {
            ADD_FAILURE() << "authorized as " << to_string(*kind);
            return ResponseFailure{ResponseError::malformed, ""};
        }
        return std::get<ResponseFailure>(v);
    }

    static ::testing::AssertionResult mentions(const ResponseFailure& failure, const std::string& words) {
        if (failure.detail.find(words) != std::string::npos) return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure() << "\"" << failure.detail << "\" does not say \"" << words << "\"";
    }

    ValidationInput in_;
    std::vector<X509*> trusted_;
};

// --- authorized -----------------------------------------------------------------------

TEST_F(SignerTest, IssuerSignedIsAuthorizedAsIssuer) {
    EXPECT_TRUE(authorized_as(authenticate(pki().issuing), SignerKind::issuer));
}

TEST_F(SignerTest, IssuerSignedWithoutCertsIsFoundAmongWhatWeKnow) {
    EXPECT_TRUE(authorized_as(authenticate(pki().issuing, /*include_certs=*/false), SignerKind::issuer));
}

TEST_F(SignerTest, DelegatedWithOcspSigningEkuIsAuthorizedAsDelegated) {
    EXPECT_TRUE(authorized_as(authenticate(pki().delegated), SignerKind::delegated));
}

TEST_F(SignerTest, DelegatedNamedByKeyIsAuthorizedAsDelegated) {
    EXPECT_TRUE(authorized_as(authenticate(pki().delegated, true, /*by_key=*/true), SignerKind::delegated));
}

TEST_F(SignerTest, ConfiguredTrustedResponderIsAuthorizedAsConfigured) {
    trusted_ = {pki().pinned.get()};
    EXPECT_TRUE(authorized_as(authenticate(pki().pinned), SignerKind::configured));
}

TEST_F(SignerTest, ConfiguredTrustedResponderWithoutCertsIsFoundAmongWhatWeKnow) {
    trusted_ = {pki().pinned.get()};
    EXPECT_TRUE(authorized_as(authenticate(pki().pinned, /*include_certs=*/false), SignerKind::configured));
}

TEST_F(SignerTest, ExpiredDelegateWithinClockSkewIsAuthorized) {
    in_.clock_skew = std::chrono::seconds(2 * one_day);  // it expired a day ago
    EXPECT_TRUE(authorized_as(authenticate(pki().delegated_expired), SignerKind::delegated));
}

// --- refused --------------------------------------------------------------------------

TEST_F(SignerTest, DelegatedWithoutEkuIsRefused) {
    const auto failure = refusal_of(authenticate(pki().delegated_noeku));
    EXPECT_EQ(failure.kind, ResponseError::unauthorized_signer);
    EXPECT_TRUE(mentions(failure, "lacks extendedKeyUsage id-kp-OCSPSigning"));
}

TEST_F(SignerTest, DelegatedWithoutDigitalSignatureKeyUsageIsRefused) {
    const auto failure = refusal_of(authenticate(pki().delegated_no_ds));
    EXPECT_EQ(failure.kind, ResponseError::unauthorized_signer);
    EXPECT_TRUE(mentions(failure, "lacks keyUsage digitalSignature"));
}

TEST_F(SignerTest, ExpiredDelegateIsRefused) {
    const auto failure = refusal_of(authenticate(pki().delegated_expired));
    EXPECT_EQ(failure.kind, ResponseError::unauthorized_signer);
    EXPECT_TRUE(mentions(failure, "is outside its validity period"));
}

TEST_F(SignerTest, DelegateNotYetValidIsRefused) {
    in_.now = at(test_now - 2 * one_day);  // the delegate's notBefore is test_now - 1 day
    const auto failure = refusal_of(authenticate(pki().delegated));
    EXPECT_EQ(failure.kind, ResponseError::unauthorized_signer);
    EXPECT_TRUE(mentions(failure, "is outside its validity period"));
}

TEST_F(SignerTest, SelfSignedResponderNotConfiguredIsRefused) {
    const auto failure = refusal_of(authenticate(pki().pinned));
    EXPECT_EQ(failure.kind, ResponseError::unauthorized_signer);
    EXPECT_TRUE(mentions(failure, "is not issued by the certificate's issuer"));
}

TEST_F(SignerTest, RootSigningForTheIntermediatesLeafIsRefused) {
    const auto failure = refusal_of(authenticate(pki().root));
    EXPECT_EQ(failure.kind, ResponseError::unauthorized_signer);
}

TEST_F(SignerTest, RootsDelegateSigningForTheIntermediatesLeafIsRefused) {
    const auto failure = refusal_of(authenticate(pki().root_delegated));
    EXPECT_EQ(failure.kind, ResponseError::unauthorized_signer);
    EXPECT_TRUE(mentions(failure, "is not issued by the certificate's issuer"));
}

// The impostor has the issuing CA's name and its own key. Named byKey, only the impostor's own
// certificate matches, and it is not signed by the real issuer.
TEST_F(SignerTest, ImpostorWithTheIssuersNameAndAnotherKeyIsRefused) {
    const auto failure = refusal_of(authenticate(pki().impostor, true, /*by_key=*/true));
    EXPECT_EQ(failure.kind, ResponseError::unauthorized_signer);
    EXPECT_TRUE(mentions(failure, "is not signed by the certificate's issuer"));
}

// Named byName, the name also points at the real issuer, whose key does not verify the
// signature: an authorized signer with a bad signature says more than an unauthorized one.
TEST_F(SignerTest, ImpostorNamedByNameIsABadSignatureOfTheRealIssuer) {
    const auto failure = refusal_of(authenticate(pki().impostor));
    EXPECT_EQ(failure.kind, ResponseError::bad_signature);
}

TEST_F(SignerTest, ImpostorIsNotTrustedBecauseAConfiguredResponderSharesItsName) {
    // A configured pin is matched by certificate or key, never by name.
    trusted_ = {pki().issuing.get()};
    const auto failure = refusal_of(authenticate(pki().impostor, true, /*by_key=*/true));
    EXPECT_EQ(failure.kind, ResponseError::unauthorized_signer);
}

TEST_F(SignerTest, DelegatedWithoutCertsMatchesNoKnownCertificate) {
    const auto failure = refusal_of(authenticate(pki().delegated, /*include_certs=*/false));
    EXPECT_EQ(failure.kind, ResponseError::unauthorized_signer);
    EXPECT_TRUE(mentions(failure, "no known certificate matches ResponderID byName"));
}

}  // namespace
}  // namespace ocspgate::ocsp
