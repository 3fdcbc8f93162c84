// A separate CRL-signing certificate (RFC 5280 §6.3.3 f, g): some CAs sign their CRLs with a
// key other than the one that signs certificates, under the same CA name, and certify that
// key with a certificate of its own (keyUsage cRLSign) from the same hierarchy. No I/O: the
// candidate certificates come from configuration (crl.signers), the trust anchor from the
// client's verified chain; the caller supplies the clock.
//
// What is validated here is the signer's certification path: it must end at the very trust
// anchor the certificate under test was validated to (§6.3.3 f: "The trust anchor for the
// certification path MUST be the same"), with validity at `now`, signatures and CA
// constraints checked by X509_verify_cert. What is not: the signer's revocation status, which
// needs CRLs and is the judge's job (crl_judge.cpp checks the signer against the CRLs its own
// issuer signed with its own key, so a signer can never vouch for itself: no loops), and any
// CRL check of the certificates between the signer and the anchor.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <span>
#include <variant>

#include "ocsp/crl.h"
#include "tls/ossl.h"

namespace ocspgate::ocsp {

struct CrlSignerPathInput {
    X509* signer = nullptr;  // the CRL signer's certificate
    X509* anchor = nullptr;  // the only trusted certificate: the anchor of the certificate's chain
    // Certificates that may complete the path (other configured signer-file entries, the
    // certificate's issuer); never trusted on their own.
    std::span<X509* const> untrusted = {};
    std::chrono::system_clock::time_point now;
};

// The validated path from the signer (first) to the anchor (last), or signer_unverified with
// OpenSSL's reason.
std::variant<tls::X509StackPtr, CrlFailure> validate_crl_signer_path(const CrlSignerPathInput& in);

}  // namespace ocspgate::ocsp
