#pragma once

// Re-signing for fuzz_ocsp_response: wraps a (fuzzed) tbsResponseData into a signed, successful
// OCSPResponse, so mutations of the signed part get past the signature check. Header-only and
// test-only; the DER around the tbsResponseData is written by hand because OpenSSL signs only
// the ResponseData it built itself (OCSP_basic_sign).
//
//   OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, responseBytes [0] EXPLICIT SEQUENCE {
//       responseType OBJECT IDENTIFIER (id-pkix-ocsp-basic), response OCTET STRING } }
//   BasicOCSPResponse ::= SEQUENCE { tbsResponseData ResponseData, signatureAlgorithm
//       AlgorithmIdentifier, signature BIT STRING, certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "support/test_pki.h"
#include "tls/ossl.h"

namespace ocspgate::fuzz {

struct ResignOptions {
    const fixtures::Issued* signer = nullptr;  // an EC P-256 key: ecdsa-with-SHA256
    bool include_certificate = false;
    X509* fix_issuer_key_hash = nullptr;  // non-null: every CertID's issuerKeyHash becomes this CA's
    bool corrupt_signature = false;
};

namespace der {

using Bytes = std::vector<std::uint8_t>;

inline Bytes tlv(std::uint8_t tag, std::span<const std::uint8_t> content) {
    Bytes out{tag};
    const std::size_t n = content.size();
    if (n < 0x80) {
        out.push_back(static_cast<std::uint8_t>(n));
    } else {
        Bytes length;
        for (std::size_t rest = n; rest != 0; rest >>= 8) length.insert(length.begin(), static_cast<std::uint8_t>(rest));
        out.push_back(static_cast<std::uint8_t>(0x80 | length.size()));
        out.insert(out.end(), length.begin(), length.end());
    }
    out.insert(out.end(), content.begin(), content.end());
    return out;
}

inline Bytes concat(std::initializer_list<std::span<const std::uint8_t>> parts) {
    Bytes out;
    for (auto part : parts) out.insert(out.end(), part.begin(), part.end());
    return out;
}

inline const Bytes ecdsa_with_sha256 = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
inline const Bytes id_pkix_ocsp_basic = {0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01};

template <class T, int (*I2d)(const T*, unsigned char**)>
Bytes encode(const T* value) {
    const int length = I2d(value, nullptr);
    if (length <= 0) return {};
    Bytes out(static_cast<std::size_t>(length));
    unsigned char* p = out.data();
    I2d(value, &p);
    return out;
}

inline Bytes basic_response(std::span<const std::uint8_t> tbs, std::span<const std::uint8_t> signature,
                            std::span<const std::uint8_t> certificate) {
    const Bytes bits = concat({Bytes{0x00}, signature});  // no unused bits
    Bytes body = concat({tbs, ecdsa_with_sha256, tlv(0x03, bits)});
    if (!certificate.empty()) body = concat({body, tlv(0xa0, tlv(0x30, certificate))});
    return tlv(0x30, body);
}

inline Bytes ocsp_response(std::span<const std::uint8_t> basic) {
    const Bytes bytes = tlv(0x30, concat({id_pkix_ocsp_basic, tlv(0x04, basic)}));
    return tlv(0x30, concat({Bytes{0x0a, 0x01, 0x00}, tlv(0xa0, bytes)}));
}

}  // namespace der

// Rewrites every CertID's issuerKeyHash (with the CertID's own hash algorithm) to `issuer`'s.
// OCSP_id_get0_info hands out the CertID's own fields, hence the const_casts.
inline void fix_issuer_key_hashes(OCSP_BASICRESP* basic, X509* issuer) {
    const ASN1_BIT_STRING* key = X509_get0_pubkey_bitstr(issuer);
    for (int i = 0; i < OCSP_resp_count(basic); ++i) {
        auto* id = const_cast<OCSP_CERTID*>(OCSP_SINGLERESP_get0_id(OCSP_resp_get0(basic, i)));
        ASN1_OBJECT* algorithm = nullptr;
        ASN1_OCTET_STRING* key_hash = nullptr;
        if (id == nullptr || OCSP_id_get0_info(nullptr, &algorithm, &key_hash, nullptr, id) != 1) continue;
        const EVP_MD* md = algorithm != nullptr ? EVP_get_digestbyobj(algorithm) : nullptr;
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        if (md == nullptr || key == nullptr ||
            EVP_Digest(key->data, static_cast<std::size_t>(key->length), digest, &length, md, nullptr) != 1)
            continue;
        ASN1_OCTET_STRING_set(key_hash, digest, static_cast<int>(length));
    }
}

// The tbsResponseData as OpenSSL re-encodes it after parsing (the bytes its signature check
// hashes), with the CertID fix-up applied; the input unchanged if OpenSSL cannot parse it.
inline der::Bytes canonical_tbs(std::span<const std::uint8_t> tbs, const ResignOptions& options) {
    const der::Bytes unsigned_basic = der::basic_response(tbs, der::Bytes{0x00}, {});
    const unsigned char* p = unsigned_basic.data();
    tls::OcspBasicRespPtr basic(d2i_OCSP_BASICRESP(nullptr, &p, static_cast<long>(unsigned_basic.size())));
    if (basic == nullptr) return der::Bytes(tbs.begin(), tbs.end());
    if (options.fix_issuer_key_hash != nullptr) fix_issuer_key_hashes(basic.get(), options.fix_issuer_key_hash);
    der::Bytes encoded = der::encode<OCSP_RESPDATA, i2d_OCSP_RESPDATA>(OCSP_resp_get0_respdata(basic.get()));
    return encoded.empty() ? der::Bytes(tbs.begin(), tbs.end()) : encoded;
}

inline der::Bytes sign(std::span<const std::uint8_t> tbs, EVP_PKEY* key) {
    tls::OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free> ctx(EVP_MD_CTX_new());
    std::size_t length = 0;
    if (ctx == nullptr || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &length, tbs.data(), tbs.size()) != 1)
        return {};
    der::Bytes signature(length);
    if (EVP_DigestSign(ctx.get(), signature.data(), &length, tbs.data(), tbs.size()) != 1) return {};
    signature.resize(length);
    return signature;
}

// A successful OCSPResponse whose BasicOCSPResponse carries `tbs` (canonicalised) signed by
// options.signer.
inline der::Bytes resign_response(std::span<const std::uint8_t> tbs, const ResignOptions& options) {
    const der::Bytes body = canonical_tbs(tbs, options);
    der::Bytes signature = sign(body, options.signer->key.get());
    if (options.corrupt_signature && !signature.empty()) signature.back() ^= 0x01;
    der::Bytes certificate;
    if (options.include_certificate) certificate = der::encode<X509, i2d_X509>(options.signer->get());
    return der::ocsp_response(der::basic_response(body, signature, certificate));
}

// The tbsResponseData of a successful OCSPResponse (for seeds); empty if there is none.
inline der::Bytes extract_tbs(std::span<const std::uint8_t> response) {
    const unsigned char* p = response.data();
    tls::OcspResponsePtr parsed(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(response.size())));
    if (parsed == nullptr) return {};
    tls::OcspBasicRespPtr basic(OCSP_response_get1_basic(parsed.get()));
    if (basic == nullptr) return {};
    return der::encode<OCSP_RESPDATA, i2d_OCSP_RESPDATA>(OCSP_resp_get0_respdata(basic.get()));
}

}  // namespace ocspgate::fuzz
