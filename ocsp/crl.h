// Checking a certificate against a CRL (RFC 5280 §5, §6.3). No I/O: bytes in, a verdict out;
// the caller supplies the clock. Fetching and caching CRLs is someone else's job.
//
//   CertificateList ::= SEQUENCE {
//       tbsCertList          TBSCertList,
//       signatureAlgorithm   AlgorithmIdentifier,
//       signatureValue       BIT STRING }
//   TBSCertList ::= SEQUENCE {
//       version                 Version OPTIONAL,  -- if present, MUST be v2
//       signature               AlgorithmIdentifier,
//       issuer                  Name,
//       thisUpdate              Time,
//       nextUpdate              Time OPTIONAL,
//       revokedCertificates     SEQUENCE OF SEQUENCE {
//           userCertificate         CertificateSerialNumber,
//           revocationDate          Time,
//           crlEntryExtensions      Extensions OPTIONAL } OPTIONAL,
//       crlExtensions           [0] EXPLICIT Extensions OPTIONAL }
//
// Only complete, direct CRLs are supported: the CRL is issued and signed by the CA that issued
// the certificate (same name, that CA's key). Delta CRLs, indirect CRLs, CRLs partitioned by
// reason, and any other critical extension are refused as `unsupported` rather than
// misread. A CRL whose issuingDistributionPoint limits it to user or to CA certificates, or
// to one distribution point (a partitioned CRL), is `out_of_scope` for certificates outside
// that scope: it says nothing about them, so it can never make them good.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "ocsp/cert_status.h"
#include "tls/ossl.h"
#include "base/result.h"

namespace ocspgate::ocsp {

// A CRL in DER or PEM ("-----BEGIN X509 CRL-----"); the whole input must be one CRL.
// Errc::parse when it is not.
Result<tls::X509CrlPtr> parse_crl(std::span<const std::uint8_t> bytes);

enum class CrlError {
    malformed,      // a time or extension cannot be decoded
    wrong_issuer,   // issuer name differs, or the CA's keyUsage lacks cRLSign
    bad_signature,  // the signature does not verify with the CA's key
    unsupported,    // delta/indirect/reason-partitioned CRL, unknown critical extension
    not_yet_valid,  // thisUpdate is in the future (beyond clock_skew)
    expired,        // nextUpdate has passed (beyond clock_skew)
    out_of_scope,   // the CRL does not speak for this certificate (its IDP says so)
};

const char* to_string(CrlError error) noexcept;

struct CrlFailure {
    CrlError kind;
    std::string detail;  // one sentence for logs
};

// Folds a failure into the project's error vocabulary (Errc::parse or Errc::verify).
Error to_error(const CrlFailure& failure);

struct CrlCheckInput {
    X509_CRL* crl = nullptr;
    X509* issuer = nullptr;  // the CA that issued the certificates the CRL speaks about
    std::chrono::system_clock::time_point now;
    std::chrono::seconds clock_skew{0};
};

// What a verified CRL says about one certificate: good or revoked, never unknown.
struct CrlCheck {
    CertStatus status = CertStatus::good;
    std::chrono::system_clock::time_point this_update;
    std::optional<std::chrono::system_clock::time_point> next_update;      // absent: no promise
    std::optional<std::chrono::system_clock::time_point> revocation_time;  // when revoked
    int revocation_reason = -1;  // CRLReason (RFC 5280 §5.3.1) when revoked and given, else -1
};

using CrlVerification = std::variant<CrlCheck, CrlFailure>;

// Checks the CRL itself against `in`: issuer name, the CA's cRLSign key usage, signature,
// supported extensions, thisUpdate <= now + clock_skew and nextUpdate (when present)
// >= now - clock_skew. On success returns its dates with status good (no certificate
// looked up yet). Do it once when a CRL is fetched, then lookup() per certificate while
// `now` stays before nextUpdate.
CrlVerification verify_crl(const CrlCheckInput& in);

// Looks `cert` up in a CRL that verify_crl() accepted. `cert` must be issued by the CRL's
// issuer; that is the caller's contract (the chain says so), not checked here.
CrlVerification lookup(X509_CRL* crl, X509* cert);

// verify_crl() and then lookup(): the whole check for one certificate.
CrlVerification check_crl(const CrlCheckInput& in, X509* cert);

}  // namespace ocspgate::ocsp
