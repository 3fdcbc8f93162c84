// The OCSP CertID: how requests and responses name one certificate (RFC 6960 §4.1.1).
//
//   CertID ::= SEQUENCE {
//       hashAlgorithm       AlgorithmIdentifier,
//       issuerNameHash      OCTET STRING, -- Hash of issuer's DN
//       issuerKeyHash       OCTET STRING, -- Hash of issuer's public key
//       serialNumber        CertificateSerialNumber }
//
// The same certificate has one CertID per hash algorithm, so two CertIDs are equal only
// when all four fields are. CertId is a plain value (no OpenSSL object inside): it is the
// key of the response cache and may be copied between threads.
#pragma once

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <cstddef>
#include <string>

#include "base/result.h"

namespace ocspgate::ocsp {

struct CertId {
    int hash_nid = NID_undef;      // hashAlgorithm, e.g. NID_sha1 (parameters are ignored)
    std::string issuer_name_hash;  // raw digest bytes
    std::string issuer_key_hash;   // raw digest of the issuer's subjectPublicKey BIT STRING
    std::string serial;            // raw DER content octets of the INTEGER (two's complement)

    bool operator==(const CertId&) const = default;
};

// The CertID of `cert` issued by `issuer` under `md` (SHA-1 by default, as RFC 5019 requires
// of lightweight clients). Fails only when OpenSSL cannot hash (e.g. unknown digest).
Result<CertId> make_cert_id(X509* cert, X509* issuer, const EVP_MD* md = EVP_sha1());

// Copies an OpenSSL CertID (from a request or a SingleResponse) into a value.
// A CertID whose hash algorithm OpenSSL does not know gets hash_nid == NID_undef.
CertId from_openssl(const OCSP_CERTID* id);

// The serial number of `cert` in upper-case hex without separators, as `openssl x509
// -serial` and `openssl ca` index files print it ("-" prefix if negative). For logs only.
std::string serial_hex(X509* cert);

}  // namespace ocspgate::ocsp

template <>
struct std::hash<ocspgate::ocsp::CertId> {
    std::size_t operator()(const ocspgate::ocsp::CertId& id) const noexcept;
};
