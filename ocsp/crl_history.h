// The highest cRLNumber seen in a usable CRL, per CRL issuer, scope and kind, so that a CRL
// older than one already used is refused (RFC 5280 §5.2.3: the number "monotonically
// increases" for a given scope and issuer): a file replaced by an old copy, a mirror serving
// a stale CRL, a replayed download. Remembered while that newer CRL would itself still be
// used (its nextUpdate, plus clock_skew and grace), so a CA that restarts its numbering is
// refused only until then.
//
// Thread-safe; one per CrlStore (one per revocation profile). Only CRLs that verified
// (signature by an authorised key, freshness, scope) are noted, so a forged CRL with a huge
// number cannot lock out the real ones. The key (CrlHistoryKey) names the CA whose
// certificates the CRL speaks for by name *and* key, so two CAs that share a name never
// share a history; complete and delta CRLs share one numbering sequence (§5.2.3) but are
// remembered apart, since a complete CRL may follow a delta of a higher number.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "ocsp/crl.h"

namespace ocspgate::ocsp {

// issuer name DER, the issuing CA's public key DER, the issuingDistributionPoint DER (empty:
// a complete CRL without one), and whether it is a delta.
std::string crl_history_key(X509_CRL* crl, X509* issuer, bool delta);

class CrlHistory {
public:
    struct Seen {
        CrlNumber number;
        std::chrono::system_clock::time_point until;  // forgotten after this
        std::string source;                           // where it came from, for logs
    };

    explicit CrlHistory(std::size_t max_entries = 4096) : max_entries_(max_entries) {}

    // The highest number noted for `key` that is still remembered at `now`.
    std::optional<Seen> highest(const std::string& key, std::chrono::system_clock::time_point now) const;
    // Notes `seen` for `key` unless a higher number is remembered. When full, the entry
    // forgotten soonest makes room.
    void note(const std::string& key, Seen seen, std::chrono::system_clock::time_point now);

private:
    const std::size_t max_entries_;
    mutable std::mutex mutex_;
    std::map<std::string, Seen> seen_;  // guarded by mutex_
};

}  // namespace ocspgate::ocsp
