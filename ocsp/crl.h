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
// Supported: direct CRLs (issued under the name of the CA that issued the certificate), signed
// with that CA's key or, when the caller passes one, a separate CRL-signing certificate of the
// same name (RFC 5280 §6.3.3 f, g); complete CRLs and delta CRLs (deltaCRLIndicator, §5.2.4)
// alike; issuingDistributionPoint with a distribution point, onlyContainsUserCerts /
// onlyContainsCACerts and onlySomeReasons (§5.2.5). Indirect CRLs, attribute-certificate CRLs
// and any other critical extension are refused as `unsupported` rather than misread. A CRL
// whose issuingDistributionPoint limits it to user or to CA certificates, or to one
// distribution point (a partitioned CRL), is `out_of_scope` for certificates outside that
// scope: it says nothing about them, so it can never make them good. Combining CRLs (newest
// per scope, a delta on its base, reason partitions until every reason is covered) is
// crl_judge.h's job; this file looks at one CRL at a time.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ocsp/cert_status.h"
#include "ocsp/signed_crl.h"
#include "tls/ossl.h"
#include "base/result.h"

namespace ocspgate::ocsp {

enum class CrlError {
    malformed,          // a time, number or extension cannot be decoded
    wrong_issuer,       // issuer name differs, or the signing certificate's keyUsage lacks cRLSign
    bad_signature,      // the signature does not verify with the CA's key (nor a CRL signer's)
    unsupported,        // indirect or attribute-certificate CRL, unknown critical extension
    not_yet_valid,      // thisUpdate is in the future (beyond clock_skew)
    expired,            // nextUpdate has passed (beyond clock_skew and grace)
    out_of_scope,       // the CRL does not speak for this certificate (its IDP says so)
    signer_unverified,  // signed by a separate CRL signer whose certificate did not validate
    rolled_back,        // a lower cRLNumber than one seen before for the same issuer and scope
    delta_unusable,     // a delta CRL that applies to no complete CRL held
    delta_missing,      // a complete CRL names deltas (freshestCRL) and none that applies is held
};

const char* to_string(CrlError error) noexcept;

struct CrlFailure {
    CrlError kind;
    std::string detail;  // one sentence for logs
};

// Folds a failure into the project's error vocabulary (Errc::parse or Errc::verify).
Error to_error(const CrlFailure& failure);

// ReasonFlags (RFC 5280 §4.2.1.13) as a set: bit n stands for reason n.
//   ReasonFlags ::= BIT STRING { unused (0), keyCompromise (1), cACompromise (2),
//       affiliationChanged (3), superseded (4), cessationOfOperation (5),
//       certificateHold (6), privilegeWithdrawn (7), aACompromise (8) }
using ReasonSet = std::uint16_t;
inline constexpr ReasonSet all_reasons = 0x01FE;  // keyCompromise .. aACompromise
std::string describe_reasons(ReasonSet reasons);   // "keyCompromise,cACompromise"; "none"

// CRLReason values (RFC 5280 §5.3.1) that change how entries combine.
inline constexpr int reason_certificate_hold = 6;
inline constexpr int reason_remove_from_crl = 8;

// A cRLNumber or BaseCRLNumber (RFC 5280 §5.2.3, §5.2.4: a non-negative INTEGER of up to 20
// octets), kept as its big-endian magnitude without leading zeros, so that numbers compare by
// length and then by bytes.
class CrlNumber {
public:
    static std::optional<CrlNumber> from(const ASN1_INTEGER* number);  // nullopt: negative
    std::string to_string() const;                                     // decimal
    std::strong_ordering operator<=>(const CrlNumber& other) const;
    bool operator==(const CrlNumber& other) const = default;

private:
    std::string magnitude_;
};

struct CrlCheckInput {
    const SignedCrl* crl = nullptr;
    X509* issuer = nullptr;  // the CA that issued the certificates the CRL speaks about
    std::chrono::system_clock::time_point now;
    std::chrono::seconds clock_skew{0};
    std::chrono::seconds grace{0};  // how long after nextUpdate (and clock_skew) it is still used
    // A separate CRL-signing certificate with the issuer's name, whose own path the caller has
    // validated (crl_signer.h); its key verifies the signature instead of the issuer's. Null:
    // the issuer's key.
    X509* signer = nullptr;
};

// What a verified CRL is (verify_crl) and what it says about one certificate (lookup): good
// or revoked, never unknown.
struct CrlCheck {
    CertStatus status = CertStatus::good;
    std::chrono::system_clock::time_point this_update;
    std::optional<std::chrono::system_clock::time_point> next_update;      // absent: no promise
    std::optional<std::chrono::system_clock::time_point> revocation_time;  // when revoked
    int revocation_reason = -1;  // CRLReason (RFC 5280 §5.3.1) when revoked and given, else -1
    std::optional<CrlNumber> number;      // cRLNumber
    std::optional<CrlNumber> delta_base;  // BaseCRLNumber: present exactly in delta CRLs
    bool names_deltas = false;            // freshestCRL: delta CRLs are issued on top of it
    // lookup() only:
    ReasonSet reasons = all_reasons;  // the reasons it speaks for, for this certificate
    bool removed = false;             // listed as removeFromCRL (a delta): not revoked any more
};

using CrlVerification = std::variant<CrlCheck, CrlFailure>;

// Checks the CRL itself against `in`: issuer name, the signing certificate's (the issuer's,
// or in.signer's) name and cRLSign key usage, signature, supported extensions, thisUpdate <=
// now + clock_skew and nextUpdate (when present) >= now - clock_skew - grace. On success
// returns its dates, numbers and freshestCRL with status good (no certificate looked up yet).
// Do it once when a CRL is fetched, then lookup() per certificate while `now` stays before
// nextUpdate.
CrlVerification verify_crl(const CrlCheckInput& in);

// Looks `cert` up in a CRL that verify_crl() accepted: its scope for the certificate (the
// reasons it covers), then the serial. `cert` must be issued by the CRL's issuer; that is
// the caller's contract (the chain says so), not checked here. An entry with reason
// removeFromCRL sets `removed`, not `revoked`.
CrlVerification lookup(const SignedCrl& crl, X509* cert);

// verify_crl() and then lookup(): the whole check for one certificate.
CrlVerification check_crl(const CrlCheckInput& in, X509* cert);

}  // namespace ocspgate::ocsp
