#include "tls/certificate.h"

#include <openssl/pem.h>

#include <cstdio>
#include <ctime>

namespace ocspgate::tls {
namespace {

std::string name_to_string(const X509_NAME* name) {
    if (name == nullptr) return {};
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio) return {};
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

std::string to_hex(const unsigned char* data, std::size_t len, const char* digits) {
    std::string out;
    out.reserve(len * 2);
    for (std::size_t i = 0; i < len; ++i) {
        out += digits[data[i] >> 4];
        out += digits[data[i] & 0xf];
    }
    return out;
}

}  // namespace

std::string subject_of(const X509* cert) { return name_to_string(X509_get_subject_name(cert)); }

std::string issuer_of(const X509* cert) { return name_to_string(X509_get_issuer_name(cert)); }

std::string common_name_of(const X509* cert) {
    const X509_NAME* name = X509_get_subject_name(cert);
    int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (index < 0) return {};
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len < 0) return {};
    std::string cn(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
    OPENSSL_free(utf8);
    return cn;
}

std::string serial_hex_of(const X509* cert) {
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
    BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
    if (!bn) return {};
    OsslStringPtr hex(BN_bn2hex(bn.get()));
    return hex ? std::string(hex.get()) : std::string();
}

std::string sha256_fingerprint_of(const X509* cert) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
    return to_hex(md, len, "0123456789abcdef");
}

std::chrono::system_clock::time_point not_after_of(const X509* cert) {
    struct tm tm {};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return {};
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

Result<std::vector<X509Ptr>> load_certificates(const std::filesystem::path& pem_file) {
    BioPtr bio(BIO_new_file(pem_file.c_str(), "r"));
    if (!bio) return make_error(Errc::io, drain_errors("cannot open " + pem_file.string()));
    std::vector<X509Ptr> certs;
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.emplace_back(cert);
    // Reading stops with a "no start line" error at end of file; anything else is a real error.
    unsigned long err = ERR_peek_last_error();
    if (ERR_GET_REASON(err) == PEM_R_NO_START_LINE) ERR_clear_error();
    if (err != 0 && ERR_GET_REASON(err) != PEM_R_NO_START_LINE)
        return make_error(Errc::parse, drain_errors("bad PEM in " + pem_file.string()));
    if (certs.empty()) return make_error(Errc::parse, "no certificate in " + pem_file.string());
    return certs;
}

}  // namespace ocspgate::tls
