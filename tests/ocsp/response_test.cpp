#include "ocsp/response.h"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <vector>

#include "support/test_pki.h"

namespace ocspgate::ocsp {
namespace {

using namespace std::chrono_literals;
using fixtures::at;
using fixtures::one_day;
using fixtures::pki;
using fixtures::ResponseSpec;
using fixtures::SingleSpec;
using fixtures::test_now;

// A response about pki().leaf, signed by the issuing CA, good, fresh; tests change one thing.
ResponseSpec leaf_response() {
    ResponseSpec spec;
    spec.singles.push_back(SingleSpec{.cert = pki().leaf.get(), .issuer = pki().issuing.get()});
    spec.signer = &pki().issuing;
    return spec;
}

class ResponseTest : public ::testing::Test {
protected:
    ResponseTest() {
        in_.cert = pki().leaf.get();
        in_.issuer = pki().issuing.get();
        in_.id = make_cert_id(in_.cert, in_.issuer).value();
        in_.now = at(test_now);
        in_.clock_skew = 300s;
        in_.max_age = 3600s;
    }

    Validation validate(const std::vector<std::uint8_t>& der) {
        return validate_response(der, in_);
    }
    Validation validate(const ResponseSpec& spec) {
        return validate(fixtures::make_response(spec));
    }

    static Answer answer_of(const Validation& v) {
        if (const auto* failure = std::get_if<ResponseFailure>(&v))
            ADD_FAILURE() << "rejected: " << to_string(failure->kind) << ": " << failure->detail;
        return std::holds_alternative<Answer>(v) ? std::get<Answer>(v) : Answer{};
    }

    static ResponseError error_of(const Validation& v) {
        if (!std::holds_alternative<ResponseFailure>(v)) {
            ADD_FAILURE() << "accepted with status " << to_string(std::get<Answer>(v).status);
            return ResponseError::malformed;
        }
        return std::get<ResponseFailure>(v).kind;
    }

    ValidationInput in_;
    std::vector<X509*> trusted_;
    std::vector<std::uint8_t> nonce_;
};

// --- certificate status ---------------------------------------------------------------

TEST_F(ResponseTest, GoodStatusIsAccepted) {
    const Answer answer = answer_of(validate(leaf_response()));
    EXPECT_EQ(answer.status, CertStatus::good);
    EXPECT_EQ(answer.this_update, at(test_now - 60));
    EXPECT_EQ(answer.next_update, at(test_now + 3600));
    EXPECT_FALSE(answer.revocation_time);
}

// Found by fuzz_ocsp_response (regressions/fuzz_ocsp_response/nanosecond-overflow-year-2430):
// a time past 2262 overflowed system_clock's nanoseconds (UB). RFC 5280's "no expiry" date,
// 99991231235959Z, is the legitimate case; such times are clamped to 2200.
TEST_F(ResponseTest, NextUpdateBeyondTheClockRangeIsClampedNotOverflowed) {
    auto spec = leaf_response();
    spec.singles[0].next_update = 253402300799;  // 9999-12-31T23:59:59Z
    const Answer answer = answer_of(validate(spec));
    EXPECT_EQ(answer.status, CertStatus::good);
    EXPECT_EQ(answer.next_update, at(7258118400));  // 2200-01-01T00:00:00Z
}

TEST_F(ResponseTest, RevokedStatusCarriesTimeAndReason) {
    auto spec = leaf_response();
    spec.singles[0].status = V_OCSP_CERTSTATUS_REVOKED;
    spec.singles[0].reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE;
    spec.singles[0].revoked_at = test_now - 2 * one_day;
    const Answer answer = answer_of(validate(spec));
    EXPECT_EQ(answer.status, CertStatus::revoked);
    EXPECT_EQ(answer.revocation_time, at(test_now - 2 * one_day));
    EXPECT_EQ(answer.revocation_reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
}

TEST_F(ResponseTest, RevokedWithoutReasonHasReasonMinusOne) {
    auto spec = leaf_response();
    spec.singles[0].status = V_OCSP_CERTSTATUS_REVOKED;
    const Answer answer = answer_of(validate(spec));
    EXPECT_EQ(answer.status, CertStatus::revoked);
    EXPECT_EQ(answer.revocation_reason, -1);
}

TEST_F(ResponseTest, UnknownStatusIsReported) {
    auto spec = leaf_response();
    spec.singles[0].status = V_OCSP_CERTSTATUS_UNKNOWN;
    EXPECT_EQ(answer_of(validate(spec)).status, CertStatus::unknown);
}

// --- responseStatus -------------------------------------------------------------------

TEST_F(ResponseTest, MalformedRequestStatusIsReported) {
    EXPECT_EQ(
        error_of(validate(fixtures::make_status_response(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST))),
        ResponseError::malformed_request);
}

TEST_F(ResponseTest, InternalErrorStatusIsReported) {
    EXPECT_EQ(
        error_of(validate(fixtures::make_status_response(OCSP_RESPONSE_STATUS_INTERNALERROR))),
        ResponseError::internal_error);
}

TEST_F(ResponseTest, TryLaterStatusIsReported) {
    EXPECT_EQ(error_of(validate(fixtures::make_status_response(OCSP_RESPONSE_STATUS_TRYLATER))),
              ResponseError::try_later);
}

TEST_F(ResponseTest, SigRequiredStatusIsReported) {
    EXPECT_EQ(error_of(validate(fixtures::make_status_response(OCSP_RESPONSE_STATUS_SIGREQUIRED))),
              ResponseError::sig_required);
}

TEST_F(ResponseTest, UnauthorizedStatusIsReported) {
    EXPECT_EQ(error_of(validate(fixtures::make_status_response(OCSP_RESPONSE_STATUS_UNAUTHORIZED))),
              ResponseError::unauthorized);
}

TEST_F(ResponseTest, TryLaterAsSentByOpensslOcspIsReported) {
    // SEQUENCE { ENUMERATED 3 }: what `openssl ocsp` and most responders send when busy.
    EXPECT_EQ(error_of(validate({0x30, 0x03, 0x0a, 0x01, 0x03})), ResponseError::try_later);
}

TEST_F(ResponseTest, UnusedStatusFourIsMalformed) {
    // SEQUENCE { ENUMERATED 4 }: value 4 is "not used" in OCSPResponseStatus.
    EXPECT_EQ(error_of(validate({0x30, 0x03, 0x0a, 0x01, 0x04})), ResponseError::malformed);
}

TEST_F(ResponseTest, SuccessfulStatusWithoutResponseBytesIsMalformed) {
    // SEQUENCE { ENUMERATED 0 }: "successful", but no responseBytes to read.
    EXPECT_EQ(error_of(validate({0x30, 0x03, 0x0a, 0x01, 0x00})), ResponseError::malformed);
}

// --- malformed input ------------------------------------------------------------------

TEST_F(ResponseTest, GarbageBytesAreMalformed) {
    EXPECT_EQ(error_of(validate({'H', 'T', 'T', 'P', '/', '1', '.', '1'})),
              ResponseError::malformed);
}

TEST_F(ResponseTest, EmptyInputIsMalformed) {
    EXPECT_EQ(error_of(validate(std::vector<std::uint8_t>{})), ResponseError::malformed);
}

TEST_F(ResponseTest, TruncatedDerIsMalformed) {
    auto der = fixtures::make_response(leaf_response());
    der.resize(der.size() - 10);  // the outer SEQUENCE now claims more bytes than there are
    EXPECT_EQ(error_of(validate(der)), ResponseError::malformed);
}

TEST_F(ResponseTest, TrailingBytesAreMalformed) {
    auto der = fixtures::make_response(leaf_response());
    der.push_back(0x00);
    EXPECT_EQ(error_of(validate(der)), ResponseError::malformed);
}

TEST_F(ResponseTest, UnknownCriticalResponseExtensionIsMalformed) {
    auto spec = leaf_response();
    spec.critical_unknown_extension = true;
    EXPECT_EQ(error_of(validate(spec)), ResponseError::malformed);
}

TEST_F(ResponseTest, UnknownCriticalSingleExtensionIsMalformed) {
    auto spec = leaf_response();
    spec.singles[0].critical_unknown_extension = true;
    EXPECT_EQ(error_of(validate(spec)), ResponseError::malformed);
}

// --- who signed -----------------------------------------------------------------------

TEST_F(ResponseTest, SignedByIssuerIsAccepted) {
    EXPECT_EQ(answer_of(validate(leaf_response())).signer, SignerKind::issuer);
}

TEST_F(ResponseTest, DelegatedResponderWithOcspSigningEkuIsAccepted) {
    auto spec = leaf_response();
    spec.signer = &pki().delegated;
    const Answer answer = answer_of(validate(spec));
    EXPECT_EQ(answer.status, CertStatus::good);
    EXPECT_EQ(answer.signer, SignerKind::delegated);
}

TEST_F(ResponseTest, DelegatedResponderWithoutEkuIsRejected) {
    auto spec = leaf_response();
    spec.signer = &pki().delegated_noeku;
    EXPECT_EQ(error_of(validate(spec)), ResponseError::unauthorized_signer);
}

TEST_F(ResponseTest, DelegatedResponderWithoutDigitalSignatureKeyUsageIsRejected) {
    auto spec = leaf_response();
    spec.signer = &pki().delegated_no_ds;
    EXPECT_EQ(error_of(validate(spec)), ResponseError::unauthorized_signer);
}

TEST_F(ResponseTest, ExpiredDelegatedResponderIsRejected) {
    auto spec = leaf_response();
    spec.signer = &pki().delegated_expired;
    EXPECT_EQ(error_of(validate(spec)), ResponseError::unauthorized_signer);
}

TEST_F(ResponseTest, RootSignedResponseForIntermediatesLeafIsRejected) {
    auto spec = leaf_response();
    spec.signer = &pki().root;
    EXPECT_EQ(error_of(validate(spec)), ResponseError::unauthorized_signer);
}

TEST_F(ResponseTest, RootsDelegatedResponderForIntermediatesLeafIsRejected) {
    auto spec = leaf_response();
    spec.signer = &pki().root_delegated;
    EXPECT_EQ(error_of(validate(spec)), ResponseError::unauthorized_signer);
}

TEST_F(ResponseTest, ConfiguredTrustedResponderIsAccepted) {
    trusted_ = {pki().pinned.get()};
    in_.trusted_responders = trusted_;
    auto spec = leaf_response();
    spec.signer = &pki().pinned;
    const Answer answer = answer_of(validate(spec));
    EXPECT_EQ(answer.status, CertStatus::good);
    EXPECT_EQ(answer.signer, SignerKind::configured);
}

TEST_F(ResponseTest, SelfSignedResponderNotConfiguredIsRejected) {
    auto spec = leaf_response();
    spec.signer = &pki().pinned;
    EXPECT_EQ(error_of(validate(spec)), ResponseError::unauthorized_signer);
}

TEST_F(ResponseTest, ImpostorNamedLikeTheIssuerIsRejected) {
    // Self-signed, same subject as the issuing CA, own key, ResponderID byName: the name
    // points at the real issuer, whose key does not verify the signature.
    auto spec = leaf_response();
    spec.signer = &pki().impostor;
    EXPECT_EQ(error_of(validate(spec)), ResponseError::bad_signature);
}

TEST_F(ResponseTest, CorruptSignatureByIssuerIsBadSignature) {
    auto spec = leaf_response();
    spec.corrupt_signature = true;
    EXPECT_EQ(error_of(validate(spec)), ResponseError::bad_signature);
}

TEST_F(ResponseTest, CorruptSignatureByDelegatedResponderIsBadSignature) {
    auto spec = leaf_response();
    spec.signer = &pki().delegated;
    spec.corrupt_signature = true;
    EXPECT_EQ(error_of(validate(spec)), ResponseError::bad_signature);
}

TEST_F(ResponseTest, ResponderIdByKeyIsAccepted) {
    auto spec = leaf_response();
    spec.signer = &pki().delegated;
    spec.responder_id_by_key = true;
    EXPECT_EQ(answer_of(validate(spec)).signer, SignerKind::delegated);
}

TEST_F(ResponseTest, IssuerSignedResponseWithoutCertsIsAccepted) {
    auto spec = leaf_response();
    spec.include_certs = false;
    EXPECT_EQ(answer_of(validate(spec)).signer, SignerKind::issuer);
}

TEST_F(ResponseTest, IssuerSignedResponseWithoutCertsByKeyIsAccepted) {
    auto spec = leaf_response();
    spec.include_certs = false;
    spec.responder_id_by_key = true;
    EXPECT_EQ(answer_of(validate(spec)).signer, SignerKind::issuer);
}

TEST_F(ResponseTest, ConfiguredResponderWithoutCertsIsAccepted) {
    trusted_ = {pki().pinned.get()};
    in_.trusted_responders = trusted_;
    auto spec = leaf_response();
    spec.signer = &pki().pinned;
    spec.include_certs = false;
    spec.responder_id_by_key = true;
    EXPECT_EQ(answer_of(validate(spec)).signer, SignerKind::configured);
}

TEST_F(ResponseTest, DelegatedResponderWithoutCertsIsUnknownSigner) {
    auto spec = leaf_response();
    spec.signer = &pki().delegated;
    spec.include_certs = false;
    EXPECT_EQ(error_of(validate(spec)), ResponseError::unauthorized_signer);
}

// --- which SingleResponse -------------------------------------------------------------

TEST_F(ResponseTest, Sha256CertIdIsMatched) {
    auto spec = leaf_response();
    spec.singles[0].id_md = EVP_sha256();
    EXPECT_EQ(answer_of(validate(spec)).status, CertStatus::good);
}

// The reverse (#19): asked with a SHA-256 CertID, answered with SHA-1, as responders that keep
// one index by SHA-1 do. The real-DER shapes: tests/integration/test_revocation_shapes.py.
TEST_F(ResponseTest, Sha1CertIdAnswerToASha256RequestIsMatched) {
    in_.id = make_cert_id(in_.cert, in_.issuer, EVP_sha256()).value();
    ASSERT_EQ(in_.id.hash_nid, NID_sha256);
    EXPECT_EQ(answer_of(validate(leaf_response())).status, CertStatus::good);
}

TEST_F(ResponseTest, ResponseForAnotherSerialHasNoMatchingResponse) {
    auto spec = leaf_response();
    spec.singles[0].cert = pki().other_leaf.get();
    EXPECT_EQ(error_of(validate(spec)), ResponseError::no_matching_response);
}

TEST_F(ResponseTest, ResponseForSameSerialUnderAnotherIssuerHasNoMatchingResponse) {
    // CertID for the leaf's serial, but hashed over the root's name and key.
    auto spec = leaf_response();
    spec.singles[0].issuer = pki().root.get();
    EXPECT_EQ(error_of(validate(spec)), ResponseError::no_matching_response);
}

TEST_F(ResponseTest, MatchingSingleResponseIsFoundAmongOthers) {
    auto spec = leaf_response();
    spec.singles.insert(spec.singles.begin(), SingleSpec{.cert = pki().other_leaf.get(),
                                                         .issuer = pki().issuing.get(),
                                                         .status = V_OCSP_CERTSTATUS_REVOKED});
    EXPECT_EQ(answer_of(validate(spec)).status, CertStatus::good);
}

// --- nonce ----------------------------------------------------------------------------

TEST_F(ResponseTest, EchoedNonceIsAccepted) {
    nonce_ = std::vector<std::uint8_t>(32, 0xa5);
    in_.expected_nonce = nonce_;
    auto spec = leaf_response();
    spec.nonce = nonce_;
    EXPECT_EQ(answer_of(validate(spec)).status, CertStatus::good);
}

TEST_F(ResponseTest, MissingNonceIsRejectedWhenOneWasSent) {
    nonce_ = std::vector<std::uint8_t>(32, 0xa5);
    in_.expected_nonce = nonce_;
    EXPECT_EQ(error_of(validate(leaf_response())), ResponseError::nonce_missing);
}

TEST_F(ResponseTest, DifferentNonceIsRejected) {
    nonce_ = std::vector<std::uint8_t>(32, 0xa5);
    in_.expected_nonce = nonce_;
    auto spec = leaf_response();
    spec.nonce = std::vector<std::uint8_t>(32, 0x5a);
    EXPECT_EQ(error_of(validate(spec)), ResponseError::nonce_mismatch);
}

TEST_F(ResponseTest, NoncePrefixIsRejected) {
    nonce_ = std::vector<std::uint8_t>(32, 0xa5);
    in_.expected_nonce = nonce_;
    auto spec = leaf_response();
    spec.nonce = std::vector<std::uint8_t>(16, 0xa5);
    EXPECT_EQ(error_of(validate(spec)), ResponseError::nonce_mismatch);
}

TEST_F(ResponseTest, NonceIsIgnoredWhenNoneWasSent) {
    auto spec = leaf_response();
    spec.nonce = std::vector<std::uint8_t>(32, 0x5a);
    const Answer answer = answer_of(validate(spec));
    EXPECT_EQ(answer.status, CertStatus::good);
    EXPECT_EQ(answer.nonce, NonceEcho::not_sent);
}

TEST_F(ResponseTest, EchoedNonceIsReportedAsEchoed) {
    nonce_ = std::vector<std::uint8_t>(32, 0xa5);
    in_.expected_nonce = nonce_;
    auto spec = leaf_response();
    spec.nonce = nonce_;
    EXPECT_EQ(answer_of(validate(spec)).nonce, NonceEcho::echoed);
}

// nonce = "prefer": RFC 8954 §2.1 lets a responder ignore the nonce (pre-signed responses).
TEST_F(ResponseTest, MissingNonceIsAcceptedAsMissingWhenNotRequired) {
    nonce_ = std::vector<std::uint8_t>(32, 0xa5);
    in_.expected_nonce = nonce_;
    in_.nonce_required = false;
    const Answer answer = answer_of(validate(leaf_response()));
    EXPECT_EQ(answer.status, CertStatus::good);
    EXPECT_EQ(answer.nonce, NonceEcho::missing);
}

TEST_F(ResponseTest, DifferentNonceIsRejectedEvenWhenNotRequired) {
    nonce_ = std::vector<std::uint8_t>(32, 0xa5);
    in_.expected_nonce = nonce_;
    in_.nonce_required = false;
    auto spec = leaf_response();
    spec.nonce = std::vector<std::uint8_t>(32, 0x5a);
    EXPECT_EQ(error_of(validate(spec)), ResponseError::nonce_mismatch);
}

// "Accepted only when current": a replay past its nextUpdate is still refused.
TEST_F(ResponseTest, MissingNonceOnExpiredResponseIsExpiredWhenNotRequired) {
    nonce_ = std::vector<std::uint8_t>(32, 0xa5);
    in_.expected_nonce = nonce_;
    in_.nonce_required = false;
    auto spec = leaf_response();
    spec.singles[0].this_update = test_now - one_day;
    spec.singles[0].next_update = test_now - 301;  // skew is 300 s
    EXPECT_EQ(error_of(validate(spec)), ResponseError::expired);
}

TEST_F(ResponseTest, MissingNonceOnResponseFromTheFutureIsNotYetValidWhenNotRequired) {
    nonce_ = std::vector<std::uint8_t>(32, 0xa5);
    in_.expected_nonce = nonce_;
    in_.nonce_required = false;
    auto spec = leaf_response();
    spec.singles[0].this_update = test_now + 301;
    EXPECT_EQ(error_of(validate(spec)), ResponseError::not_yet_valid);
}

// --- max_response_age -------------------------------------------------------------------

TEST_F(ResponseTest, MissingNonceOlderThanMaxResponseAgeIsNonceMissing) {
    nonce_ = std::vector<std::uint8_t>(32, 0xa5);
    in_.expected_nonce = nonce_;
    in_.nonce_required = false;
    in_.max_response_age = 600s;
    auto spec = leaf_response();
    spec.singles[0].this_update = test_now - 901;  // 600 s + 300 s skew
    const Validation v = validate(spec);
    EXPECT_EQ(error_of(v), ResponseError::nonce_missing);
    EXPECT_NE(std::get<ResponseFailure>(v).detail.find("max_response_age"), std::string::npos);
}

TEST_F(ResponseTest, MissingNonceWithinMaxResponseAgeAndSkewIsAccepted) {
    nonce_ = std::vector<std::uint8_t>(32, 0xa5);
    in_.expected_nonce = nonce_;
    in_.nonce_required = false;
    in_.max_response_age = 600s;
    auto spec = leaf_response();
    spec.singles[0].this_update = test_now - 899;
    EXPECT_EQ(answer_of(validate(spec)).nonce, NonceEcho::missing);
}

TEST_F(ResponseTest, NoNonceSentAndOlderThanMaxResponseAgeIsTooOld) {
    in_.max_response_age = 600s;
    auto spec = leaf_response();
    spec.singles[0].this_update = test_now - 901;
    EXPECT_EQ(error_of(validate(spec)), ResponseError::too_old);
}

TEST_F(ResponseTest, EchoedNonceIsNotBoundByMaxResponseAge) {
    nonce_ = std::vector<std::uint8_t>(32, 0xa5);
    in_.expected_nonce = nonce_;
    in_.max_response_age = 600s;
    auto spec = leaf_response();
    spec.nonce = nonce_;
    spec.singles[0].this_update = test_now - 901;
    EXPECT_EQ(answer_of(validate(spec)).nonce, NonceEcho::echoed);
}

// --- freshness ------------------------------------------------------------------------

TEST_F(ResponseTest, ThisUpdateInTheFutureIsNotYetValid) {
    auto spec = leaf_response();
    spec.singles[0].this_update = test_now + 301;  // skew is 300 s
    EXPECT_EQ(error_of(validate(spec)), ResponseError::not_yet_valid);
}

TEST_F(ResponseTest, ThisUpdateInTheFutureWithinSkewIsAccepted) {
    auto spec = leaf_response();
    spec.singles[0].this_update = test_now + 299;
    EXPECT_EQ(answer_of(validate(spec)).status, CertStatus::good);
}

TEST_F(ResponseTest, PassedNextUpdateIsExpired) {
    auto spec = leaf_response();
    spec.singles[0].this_update = test_now - one_day;
    spec.singles[0].next_update = test_now - 301;
    EXPECT_EQ(error_of(validate(spec)), ResponseError::expired);
}

TEST_F(ResponseTest, PassedNextUpdateWithinSkewIsAccepted) {
    auto spec = leaf_response();
    spec.singles[0].this_update = test_now - one_day;
    spec.singles[0].next_update = test_now - 299;
    EXPECT_EQ(answer_of(validate(spec)).status, CertStatus::good);
}

TEST_F(ResponseTest, NoNextUpdateAndOlderThanMaxAgeIsTooOld) {
    auto spec = leaf_response();
    spec.singles[0].this_update = test_now - 3601;  // max_age is 3600 s
    spec.singles[0].next_update.reset();
    EXPECT_EQ(error_of(validate(spec)), ResponseError::too_old);
}

TEST_F(ResponseTest, NoNextUpdateWithinMaxAgeIsAccepted) {
    auto spec = leaf_response();
    spec.singles[0].this_update = test_now - 3599;
    spec.singles[0].next_update.reset();
    const Answer answer = answer_of(validate(spec));
    EXPECT_EQ(answer.status, CertStatus::good);
    EXPECT_FALSE(answer.next_update);
}

TEST_F(ResponseTest, OldThisUpdateWithFutureNextUpdateIsAccepted) {
    // max_age bounds only responses that promise nothing; nextUpdate is the promise.
    auto spec = leaf_response();
    spec.singles[0].this_update = test_now - 3 * one_day;
    spec.singles[0].next_update = test_now + one_day;
    EXPECT_EQ(answer_of(validate(spec)).status, CertStatus::good);
}

TEST_F(ResponseTest, RejectionLeavesOpensslErrorQueueEmpty) {
    auto spec = leaf_response();
    spec.corrupt_signature = true;
    ASSERT_EQ(error_of(validate(spec)), ResponseError::bad_signature);
    EXPECT_EQ(ERR_peek_error(), 0u);
}

// --- vocabulary -----------------------------------------------------------------------

TEST(ResponseErrorTest, FailuresMapToProjectErrorCodes) {
    EXPECT_EQ(to_error({ResponseError::malformed, "x"}).code, Errc::parse);
    EXPECT_EQ(to_error({ResponseError::try_later, "x"}).code, Errc::unavailable);
    EXPECT_EQ(to_error({ResponseError::unauthorized_signer, "x"}).code, Errc::verify);
    EXPECT_EQ(to_error({ResponseError::expired, "x"}).message, "OCSP response expired: x");
}

}  // namespace
}  // namespace ocspgate::ocsp
