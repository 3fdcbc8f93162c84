// Validating an OCSP response for one certificate (RFC 6960 §3.2, §4.2). No I/O: DER in,
// a verdict out; the caller supplies the clock.
//
//   OCSPResponse ::= SEQUENCE {
//       responseStatus          OCSPResponseStatus,
//       responseBytes       [0] EXPLICIT ResponseBytes OPTIONAL }
//   BasicOCSPResponse ::= SEQUENCE {
//       tbsResponseData         ResponseData,
//       signatureAlgorithm      AlgorithmIdentifier,
//       signature               BIT STRING,
//       certs               [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
//   ResponseData ::= SEQUENCE {
//       version             [0] EXPLICIT Version DEFAULT v1,
//       responderID             ResponderID,
//       producedAt              GeneralizedTime,
//       responses               SEQUENCE OF SingleResponse,
//       responseExtensions  [1] EXPLICIT Extensions OPTIONAL }
//   ResponderID ::= CHOICE {
//       byName              [1] Name,
//       byKey               [2] KeyHash }  -- SHA-1 of the responder's public key BIT STRING
//   SingleResponse ::= SEQUENCE {
//       certID                  CertID,
//       certStatus              CertStatus,
//       thisUpdate              GeneralizedTime,
//       nextUpdate          [0] EXPLICIT GeneralizedTime OPTIONAL,
//       singleExtensions    [1] EXPLICIT Extensions OPTIONAL }
//
// A response is accepted only when all of these hold, checked in this order:
//  1. it is one complete DER OCSPResponse whose responseStatus is successful and whose
//     responseBytes is a BasicOCSPResponse;
//  2. it is signed by an authorized responder (RFC 6960 §4.2.2.2), one of:
//     a. the CA that issued `cert` (the signing key is `issuer`'s key);
//     b. a delegated responder: a certificate issued by that CA (its issuer name is the CA's
//        subject and its signature verifies with the CA's key), carrying id-kp-OCSPSigning in
//        extendedKeyUsage, digitalSignature in keyUsage if it has one, and valid at `now`
//        (± clock_skew). Its own revocation is not checked: RFC 6960 §4.2.2.2.1 lets a CA
//        mark it id-pkix-ocsp-nocheck, and we treat every delegated responder so;
//     c. a configured responder from `trusted_responders` (same certificate or same public
//        key). Configured trust is a pin: no chain, EKU or validity check.
//     The signer is found by ResponderID (byName or byKey) among the response's `certs`, then
//     `issuer`, then `trusted_responders`, so responses without certs work when the signer is
//     one of the latter. Any other signer, e.g. the root CA answering for a leaf of an
//     intermediate, is an unauthorized_signer, even though a chain would verify;
//  3. no extension we do not understand is marked critical (RFC 6960 §4.4);
//  4. the nonce, if we sent one (RFC 8954): a response carrying another nonce is refused; one
//     carrying none is refused when `nonce_required`, else accepted (RFC 8954 §2.1 lets
//     responders ignore the nonce; those that pre-sign responses do) and marked
//     NonceEcho::missing. If we sent none, a nonce in the response is ignored;
//  5. a SingleResponse names `cert`: its CertID equals ours, recomputed under whichever hash
//     algorithm the responder used (responders may answer SHA-1 requests with SHA-256);
//  6. freshness (RFC 5019 §4): thisUpdate <= now + clock_skew; nextUpdate, when present,
//     >= now - clock_skew; without nextUpdate, thisUpdate >= now - max_age. So a response
//     without our nonce is accepted only while current. A response that does not echo a nonce
//     of ours (none sent, or missing) is moreover refused when `max_response_age` is set and
//     thisUpdate < now - max_response_age - clock_skew: a bound on how old a replay can be
//     (as nonce_missing when we sent a nonce, too_old when we did not).
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "ocsp/cert_id.h"
#include "ocsp/cert_status.h"
#include "base/result.h"

namespace ocspgate::ocsp {

// Which rule of RFC 6960 §4.2.2.2 authorized the signer (for logs and metrics).
enum class SignerKind { issuer, delegated, configured };

const char* to_string(SignerKind kind) noexcept;

// What the response did with the nonce of our request.
enum class NonceEcho {
    not_sent,  // we sent none
    echoed,    // the response carries ours
    missing,   // we sent one and the response carries none (accepted: !nonce_required)
};

const char* to_string(NonceEcho echo) noexcept;

struct Answer {
    CertStatus status = CertStatus::unknown;
    std::chrono::system_clock::time_point this_update;
    std::optional<std::chrono::system_clock::time_point> next_update;      // absent: no promise
    std::optional<std::chrono::system_clock::time_point> produced_at;      // the response's, for operators
    std::optional<std::chrono::system_clock::time_point> revocation_time;  // when revoked
    int revocation_reason = -1;  // CRLReason (RFC 5280 §5.3.1) when revoked and given, else -1
    SignerKind signer = SignerKind::issuer;
    NonceEcho nonce = NonceEcho::not_sent;
};

enum class ResponseError {
    malformed,             // not DER, truncated, trailing bytes, not basic, bad critical ext
    malformed_request,     // responseStatus malformedRequest (1)
    internal_error,        // responseStatus internalError (2)
    try_later,             // responseStatus tryLater (3)
    sig_required,          // responseStatus sigRequired (5)
    unauthorized,          // responseStatus unauthorized (6)
    bad_signature,         // an authorized signer, but the signature does not verify
    unauthorized_signer,   // signer not found, or not authorized for this certificate
    no_matching_response,  // no SingleResponse for our CertID
    nonce_missing,         // we sent a nonce, the response has none, and one is required
                           // (or the response is older than max_response_age)
    nonce_mismatch,        // we sent a nonce; the response has another
    not_yet_valid,         // thisUpdate is in the future (beyond clock_skew)
    expired,               // nextUpdate has passed (beyond clock_skew)
    too_old,               // thisUpdate older than max_age (no nextUpdate), or than
                           // max_response_age when we sent no nonce
};

const char* to_string(ResponseError error) noexcept;

struct ResponseFailure {
    ResponseError kind;
    std::string detail;  // one sentence for logs, e.g. which signer and why it was refused
};

// Folds a failure into the project's error vocabulary: responder statuses become
// Errc::unavailable, malformed becomes Errc::parse, everything else Errc::verify.
Error to_error(const ResponseFailure& failure);

class ResponderCache;  // responder_cache.h

// What validate_response() checks against. `cert` and `issuer` are required (a null one
// gives malformed); the spans must stay valid for the call.
struct ValidationInput {
    X509* cert = nullptr;    // the certificate asked about
    X509* issuer = nullptr;  // the CA that issued it
    std::span<X509* const> trusted_responders;     // configured responders (rule 2c)
    std::span<const std::uint8_t> expected_nonce;  // Request::nonce; empty when none was sent
    CertId id;  // Request::id: the CertID we asked about (any algorithm, usually SHA-1)
    std::chrono::system_clock::time_point now;
    std::chrono::seconds clock_skew{0};  // tolerance on thisUpdate, nextUpdate, responder validity
    std::chrono::seconds max_age{0};     // bound on responses without nextUpdate
    // Whether a response must echo the nonce we sent (rule 4); false accepts one without any.
    bool nonce_required = true;
    // Bound on the age of a response that does not echo a nonce of ours (rule 6); none if unset.
    std::optional<std::chrono::seconds> max_response_age;
    // Optional: decoded responder certificates and verified delegations to reuse across
    // responses (see responder_cache.h). The verdict is the same with or without it.
    ResponderCache* responder_cache = nullptr;
};

// Either the Answer (the response is valid, whatever status it gives) or why it is not.
// Failures are values, not exceptions; OpenSSL's error queue is left empty either way.
using Validation = std::variant<Answer, ResponseFailure>;

// Checks `der` against `in` as described at the top of this file. Reentrant; the pointers
// in `in` are only read for the duration of the call.
Validation validate_response(std::span<const std::uint8_t> der, const ValidationInput& in);

}  // namespace ocspgate::ocsp
