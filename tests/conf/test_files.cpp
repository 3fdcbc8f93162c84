#include "test_files.h"

#include <openssl/pem.h>
#include <stdlib.h>

#include <fstream>
#include <stdexcept>

namespace ocspgate::conf::testing {
namespace {

std::string bio_contents(BIO* bio) {
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(size));
}

void require(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(tls::drain_errors(what));
}

}  // namespace

TempDir::TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "ocspgate-conf-XXXXXX").string();
    require(mkdtemp(pattern.data()) != nullptr, "mkdtemp");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path TempDir::write(const std::filesystem::path& relative,
                                     std::string_view content) const {
    std::filesystem::path file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    require(out.good(), "writing a test file");
    return file;
}

Identity make_identity(std::string_view common_name) {
    Identity identity;
    identity.key.reset(EVP_EC_gen("P-256"));
    require(identity.key != nullptr, "EVP_EC_gen");
    identity.certificate.reset(X509_new());
    X509* certificate = identity.certificate.get();
    require(X509_set_version(certificate, X509_VERSION_3) == 1, "X509_set_version");
    require(ASN1_INTEGER_set(X509_get_serialNumber(certificate), 1) == 1, "serial");
    require(X509_gmtime_adj(X509_getm_notBefore(certificate), -3600) != nullptr, "notBefore");
    require(X509_gmtime_adj(X509_getm_notAfter(certificate), 24 * 3600) != nullptr, "notAfter");
    X509_NAME* name = X509_get_subject_name(certificate);
    std::string cn(common_name);
    require(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                       0) == 1,
            "CN");
    require(X509_set_issuer_name(certificate, name) == 1, "issuer");
    require(X509_set_pubkey(certificate, identity.key.get()) == 1, "pubkey");
    require(X509_sign(certificate, identity.key.get(), EVP_sha256()) > 0, "X509_sign");
    return identity;
}

std::string certificate_pem(const X509* certificate) {
    tls::BioPtr bio(BIO_new(BIO_s_mem()));
    require(PEM_write_bio_X509(bio.get(), certificate) == 1, "PEM_write_bio_X509");
    return bio_contents(bio.get());
}

std::string private_key_pem(const EVP_PKEY* key) {
    tls::BioPtr bio(BIO_new(BIO_s_mem()));
    require(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
            "PEM_write_bio_PrivateKey");
    return bio_contents(bio.get());
}

std::string encrypted_private_key_pem(const EVP_PKEY* key, std::string_view passphrase) {
    tls::BioPtr bio(BIO_new(BIO_s_mem()));
    std::string secret(passphrase);
    require(PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), secret.data(),
                                          static_cast<int>(secret.size()), nullptr, nullptr) == 1,
            "PEM_write_bio_PKCS8PrivateKey");
    return bio_contents(bio.get());
}

std::string crl_pem(const Identity& issuer) {
    tls::X509CrlPtr crl(X509_CRL_new());
    require(X509_CRL_set_version(crl.get(), 1) == 1, "X509_CRL_set_version");
    require(
        X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.certificate.get())) == 1,
        "CRL issuer");
    tls::Asn1TimePtr now(X509_gmtime_adj(nullptr, 0));
    tls::Asn1TimePtr next(X509_gmtime_adj(nullptr, 24 * 3600));
    require(X509_CRL_set1_lastUpdate(crl.get(), now.get()) == 1, "lastUpdate");
    require(X509_CRL_set1_nextUpdate(crl.get(), next.get()) == 1, "nextUpdate");
    require(X509_CRL_sign(crl.get(), issuer.key.get(), EVP_sha256()) > 0, "X509_CRL_sign");
    tls::BioPtr bio(BIO_new(BIO_s_mem()));
    require(PEM_write_bio_X509_CRL(bio.get(), crl.get()) == 1, "PEM_write_bio_X509_CRL");
    return bio_contents(bio.get());
}

}  // namespace ocspgate::conf::testing
