// One CRL as it is held: every field decoded by OpenSSL except the entries, which stay the
// DER the CA signed, indexed by serial (crl_entries.h). What never changes about it once it
// is held is worked out once and remembered: whether its signature verifies with a key (a
// hash over the whole list, ~10 ms for 20 MB) and whether an entry carries a critical
// extension that cannot be processed. Shared read-only by every event loop, so thread-safe.
//
// Reading splits the DER (der.h): the TBSCertList without its revokedCertificates goes to
// d2i_X509_CRL (`header()`), the list to CrlEntries::index(). The signature is checked over
// the TBSCertList as signed, put back together from the pieces kept for that.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "base/result.h"
#include "ocsp/crl_entries.h"
#include "tls/ossl.h"

namespace ocspgate::ocsp {

class SignedCrl {
public:
    // A CRL in DER or PEM ("-----BEGIN X509 CRL-----"); the whole input must be one CRL.
    // Errc::parse when it is not.
    static Result<std::shared_ptr<const SignedCrl>> read(std::span<const std::uint8_t> bytes);
    // A CRL OpenSSL decoded whole (tests, tools): its DER, read as above.
    static Result<std::shared_ptr<const SignedCrl>> of(X509_CRL* crl);

    // Every field but the entries. It has none, so it is never asked about a serial (that is
    // entries()'s job), and its own signature does not verify (that is signature_verifies()'s).
    X509_CRL* header() const { return header_.get(); }
    const CrlEntries& entries() const { return entries_; }
    std::size_t bytes() const { return bytes_; }  // its size as read (PEM or DER)

    // Whether the signature verifies with `key` (the outer and inner algorithms agreeing, as
    // X509_CRL_verify requires), computed once per key.
    bool signature_verifies(EVP_PKEY* key) const;
    // Whether signature_verifies() has the answer for `key` without computing it.
    bool knows(EVP_PKEY* key) const;

private:
    SignedCrl() = default;
    bool verify(EVP_PKEY* key) const;

    tls::X509CrlPtr header_;
    CrlEntries entries_;
    // The TBSCertList as signed is tbs_head_ + entries_.der() + tbs_tail_.
    std::vector<std::uint8_t> tbs_head_, tbs_tail_;
    std::size_t bytes_ = 0;
    bool algorithms_agree_ = false;  // the TBSCertList's signature field is signatureAlgorithm

    struct KeyResult {
        tls::EvpPkeyPtr key;
        bool verifies = false;
    };
    static constexpr std::size_t kMaxKeys = 16;  // keys come from verified chains and crl.signers: few
    mutable std::mutex mutex_;
    mutable std::vector<KeyResult> keys_;  // guarded by mutex_
};

}  // namespace ocspgate::ocsp
