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

#include <atomic>
#include <chrono>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "ocsp/cert_status.h"
#include "tls/ossl.h"
#include "base/result.h"

namespace ocspgate::ocsp {

// A CRL in DER or PEM ("-----BEGIN X509 CRL-----"); the whole input must be one CRL.
// Errc::parse when it is not.
Result<tls::X509CrlPtr> parse_crl(std::span<const std::uint8_t> bytes);

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

// What never changes about one signed CRL once it is held, worked out once rather than at
// every lookup: whether its signature verifies with a given key (X509_CRL_verify hashes the
// whole list, ~10 ms for 20 MB) and whether an entry carries a critical extension we cannot
// process (a pass over every entry). With it a lookup in a CRL of 500 000 entries is a binary
// search. One memo belongs to one X509_CRL, held beside it (HeldCrl); shared by every loop,
// so thread-safe.
class CrlMemo {
public:
    // What would otherwise fall to the first lookup on an event loop: OpenSSL sorts the
    // entries at the first X509_CRL_get0_by_serial; the entry extensions are scanned. Call it
    // where the CRL is read or downloaded, off the loops.
    void prepare(X509_CRL* crl, std::size_t bytes);
    bool prepared() const { return prepared_.load(std::memory_order_acquire); }
    std::size_t bytes() const { return bytes_.load(std::memory_order_relaxed); }  // as read, 0 if unknown

    // X509_CRL_verify(crl, key) == 1, computed once per key.
    bool signature_verifies(X509_CRL* crl, EVP_PKEY* key);
    // Whether signature_verifies() has the answer for `key` without computing it.
    bool knows(EVP_PKEY* key);

    // The first unsupported critical entry extension, or "" (one pass over the entries, once).
    std::string entry_extension_problem(X509_CRL* crl);

private:
    struct KeyResult {
        tls::EvpPkeyPtr key;
        bool verifies = false;
    };
    std::mutex mutex_;
    static constexpr std::size_t kMaxKeys = 16;
    std::vector<KeyResult> keys_;                // guarded by mutex_; one or two keys per CRL
    std::optional<std::string> entry_problem_;   // guarded by mutex_
    std::atomic<bool> prepared_{false};
    std::atomic<std::size_t> bytes_{0};
};

struct CrlCheckInput {
    X509_CRL* crl = nullptr;
    X509* issuer = nullptr;  // the CA that issued the certificates the CRL speaks about
    std::chrono::system_clock::time_point now;
    std::chrono::seconds clock_skew{0};
    std::chrono::seconds grace{0};  // how long after nextUpdate (and clock_skew) it is still used
    // A separate CRL-signing certificate with the issuer's name, whose own path the caller has
    // validated (crl_signer.h); its key verifies the signature instead of the issuer's. Null:
    // the issuer's key.
    X509* signer = nullptr;
    // The CRL's memo, or null: then everything is computed afresh.
    CrlMemo* memo = nullptr;
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
CrlVerification lookup(X509_CRL* crl, X509* cert);

// verify_crl() and then lookup(): the whole check for one certificate.
CrlVerification check_crl(const CrlCheckInput& in, X509* cert);

}  // namespace ocspgate::ocsp
