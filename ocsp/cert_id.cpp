#include "ocsp/cert_id.h"

#include <functional>

#include "tls/ossl.h"

namespace ocspgate::ocsp {
namespace {

std::string bytes_of(const ASN1_STRING* s) {
    if (s == nullptr) return {};
    return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
            static_cast<std::size_t>(ASN1_STRING_length(s))};
}

// The INTEGER's DER content octets: the encoding without its tag and length, so that
// positive and negative serials with the same magnitude stay distinct.
std::string integer_content_octets(const ASN1_INTEGER* n) {
    unsigned char* der = nullptr;
    const int len = i2d_ASN1_INTEGER(n, &der);
    if (len < 2) return {};
    tls::OsslStringPtr owner(reinterpret_cast<char*>(der));
    // DER length: short form below 0x80, else 0x80 | count of length octets that follow.
    const std::size_t header = der[1] < 0x80 ? 2 : 2 + (der[1] & 0x7f);
    if (header > static_cast<std::size_t>(len)) return {};
    return {reinterpret_cast<const char*>(der) + header, static_cast<std::size_t>(len) - header};
}

}  // namespace

Result<CertId> make_cert_id(X509* cert, X509* issuer, const EVP_MD* md) {
    if (cert == nullptr || issuer == nullptr || md == nullptr)
        return make_error(Errc::invalid_argument, "make_cert_id: null certificate or digest");
    tls::clear_errors();
    tls::OcspCertIdPtr id(OCSP_cert_to_id(md, cert, issuer));
    if (!id) return make_error(Errc::tls, tls::drain_errors("cannot compute OCSP CertID"));
    return from_openssl(id.get());
}

CertId from_openssl(const OCSP_CERTID* id) {
    ASN1_OCTET_STRING* name_hash = nullptr;
    ASN1_OBJECT* md = nullptr;
    ASN1_OCTET_STRING* key_hash = nullptr;
    ASN1_INTEGER* serial = nullptr;
    // OCSP_id_get0_info only reads, but its prototype predates const.
    OCSP_id_get0_info(&name_hash, &md, &key_hash, &serial, const_cast<OCSP_CERTID*>(id));
    CertId out;
    out.hash_nid = md != nullptr ? OBJ_obj2nid(md) : NID_undef;
    out.issuer_name_hash = bytes_of(name_hash);
    out.issuer_key_hash = bytes_of(key_hash);
    out.serial = serial != nullptr ? integer_content_octets(serial) : std::string{};
    return out;
}

std::string serial_hex(X509* cert) {
    if (cert == nullptr) return {};
    tls::BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
    if (!bn) return {};
    tls::OsslStringPtr hex(BN_bn2hex(bn.get()));
    return hex ? std::string(hex.get()) : std::string{};
}

}  // namespace ocspgate::ocsp

std::size_t std::hash<ocspgate::ocsp::CertId>::operator()(
    const ocspgate::ocsp::CertId& id) const noexcept {
    // boost::hash_combine's mixing; the serial varies most, so it goes last.
    std::size_t h = std::hash<int>{}(id.hash_nid);
    for (const std::string* part : {&id.issuer_name_hash, &id.issuer_key_hash, &id.serial})
        h ^= std::hash<std::string>{}(*part) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}
