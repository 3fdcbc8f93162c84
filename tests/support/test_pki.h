// An in-process test PKI and builders for certificates, OCSP responses and CRLs, shared by
// the unit tests of every folder (library ocspgate_test_support), so that they are hermetic
// (no fixture files, no network) and can craft what no real responder sends.
//
// pki() is generated once per test process with the OpenSSL API: P-256 keys, certificates
// valid around test_now, and responses/CRLs signed on demand. Tests that hand certificates to
// code reading the real clock (a TLS handshake, the config loader) build their own with
// make_cert() and validity around std::time(nullptr).
#pragma once

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tls/ossl.h"

namespace ocspgate::fixtures {

// The tests' "now": 2030-03-17T17:46:40Z. Every certificate is valid from a day before it.
inline constexpr std::time_t test_now = 1'900'000'000;
inline constexpr std::time_t one_day = 86'400;

inline std::chrono::system_clock::time_point at(std::time_t t) {
    return std::chrono::system_clock::from_time_t(t);
}

struct Issued {
    tls::X509Ptr cert;
    tls::EvpPkeyPtr key;
    X509* get() const { return cert.get(); }
};

// An extension in `openssl x509 -extfile` syntax, e.g. {NID_key_usage, "critical,keyCertSign"}.
using ExtensionSpec = std::pair<int, std::string>;

struct CertSpec {
    std::string subject;             // "/O=Test/CN=name"
    const Issued* issuer = nullptr;  // null: self-signed
    long serial = 1;
    std::vector<ExtensionSpec> extensions;
    std::time_t not_before = test_now - one_day;
    std::time_t not_after = test_now + 365 * one_day;
};

Issued make_cert(const CertSpec& spec);

// basicConstraints CA:TRUE, keyUsage keyCertSign + cRLSign, subjectKeyIdentifier.
const std::vector<ExtensionSpec>& ca_extensions();
// An end-entity certificate for `purpose`, an extendedKeyUsage value such as "clientAuth"
// or "serverAuth"; keyUsage digitalSignature (what an ECDSA TLS peer needs).
std::vector<ExtensionSpec> leaf_extensions(const char* purpose = "clientAuth");

// PEM text, as written to the files the TLS context and the config loader read.
std::string certificate_pem(const X509* cert);
std::string private_key_pem(const EVP_PKEY* key);  // unencrypted PKCS#8

// root -> issuing -> {leaf, other_leaf, responders...}, plus certificates that must fail.
struct TestPki {
    Issued root;               // self-signed CA
    Issued issuing;            // intermediate CA signed by root; issues the leaves
    Issued leaf;               // the certificate under test (serial 0x1001)
    Issued other_leaf;         // another leaf of issuing (serial 0x1002)
    Issued delegated;          // issued by issuing, EKU OCSPSigning
    Issued delegated_noeku;    // issued by issuing, no EKU
    Issued delegated_expired;  // issued by issuing, EKU OCSPSigning, expired a day ago
    Issued
        delegated_no_ds;    // issued by issuing, EKU OCSPSigning, keyUsage without digitalSignature
    Issued root_delegated;  // issued by root, EKU OCSPSigning: a responder for root's children
    Issued pinned;          // self-signed responder, only good when configured
    Issued impostor;        // self-signed, same subject name as issuing, another key
    Issued ca_no_crlsign;   // CA signed by root whose keyUsage lacks cRLSign
    Issued crl_signer;      // signed by root, issuing's name, its own key, keyUsage cRLSign only:
                            // a separate CRL signer of issuing (RFC 5280 §6.3.3 f)
};

const TestPki& pki();

// One SingleResponse.
struct SingleSpec {
    X509* cert = nullptr;
    X509* issuer = nullptr;
    int status = V_OCSP_CERTSTATUS_GOOD;
    int reason = OCSP_REVOKED_STATUS_NOSTATUS;
    std::time_t revoked_at = test_now - one_day;
    std::time_t this_update = test_now - 60;
    std::optional<std::time_t> next_update = test_now + 3600;
    const EVP_MD* id_md = EVP_sha1();
    bool critical_unknown_extension = false;
};

struct ResponseSpec {
    std::vector<SingleSpec> singles;
    const Issued* signer = nullptr;
    bool responder_id_by_key = false;
    bool include_certs = true;   // the signer's certificate (OCSP_basic_sign default)
    std::vector<uint8_t> nonce;  // echoed as a nonce extension when not empty
    bool critical_unknown_extension = false;
    bool corrupt_signature = false;  // flip a bit of the signature after signing
};

// A successful, signed OCSPResponse as DER.
std::vector<std::uint8_t> make_response(const ResponseSpec& spec);

// An OCSPResponse with only a responseStatus (no responseBytes), as DER.
std::vector<std::uint8_t> make_status_response(int status);

struct RevokedSpec {
    X509* cert = nullptr;
    std::time_t revoked_at = test_now - one_day;
    int reason = -1;  // CRLReason, -1: no reasonCode extension
    bool critical_unknown_extension = false;  // an entry extension nobody understands, critical
};

struct CrlSpec {
    const Issued* signer = nullptr;
    const X509_NAME* issuer_name = nullptr;  // null: the signer's subject
    std::time_t this_update = test_now - 3600;
    std::optional<std::time_t> next_update = test_now + 7 * one_day;
    std::vector<RevokedSpec> revoked;
    std::vector<ExtensionSpec> extensions;
    std::optional<long> number;    // cRLNumber
    std::optional<long> delta_of;  // makes it a delta CRL on top of this base CRL number
    bool critical_unknown_extension = false;
};

// Extensions whose string form cannot say it all (several onlySomeReasons; a distribution
// point limited to some reasons), in the generic "DER:" syntax that CertSpec and CrlSpec take.
// `reasons` are ReasonFlags bit numbers (RFC 5280 §4.2.1.13: keyCompromise 1, cACompromise 2,
// affiliationChanged 3, superseded 4, cessationOfOperation 5, certificateHold 6,
// privilegeWithdrawn 7, aACompromise 8); empty: all. `uri` empty: no distribution point name.
ExtensionSpec idp_extension(const std::string& uri, const std::vector<int>& reasons);  // critical
ExtensionSpec crl_dp_extension(const std::string& uri, const std::vector<int>& reasons);

// RevokedSpec.reason values (CRLReason, RFC 5280 §5.3.1) that change how CRLs combine.
inline constexpr int crl_reason_certificate_hold = 6;
inline constexpr int crl_reason_remove_from_crl = 8;  // only in delta CRLs

tls::X509CrlPtr make_crl(const CrlSpec& spec);
std::vector<std::uint8_t> der_of(X509_CRL* crl);
std::vector<std::uint8_t> pem_of(X509_CRL* crl);

}  // namespace ocspgate::fixtures
