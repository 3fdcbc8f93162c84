#include "test_files.h"

#include <openssl/pem.h>

#include <ctime>
#include <stdexcept>

namespace ocspgate::conf::testing {
namespace {

constexpr std::time_t one_hour = 3600;

void require(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(tls::drain_errors(what));
}

// The shared builders take an Issued; this one shares the identity's objects.
fixtures::Issued as_issued(const Identity& identity) {
    fixtures::Issued issued;
    require(X509_up_ref(identity.certificate.get()) == 1, "X509_up_ref");
    issued.cert.reset(identity.certificate.get());
    require(EVP_PKEY_up_ref(identity.key.get()) == 1, "EVP_PKEY_up_ref");
    issued.key.reset(identity.key.get());
    return issued;
}

}  // namespace

Identity make_identity(std::string_view common_name) {
    const std::time_t now = std::time(nullptr);
    fixtures::CertSpec spec;
    spec.subject = "/CN=" + std::string(common_name);
    spec.not_before = now - one_hour;
    spec.not_after = now + 24 * one_hour;
    fixtures::Issued issued = fixtures::make_cert(spec);
    return Identity{std::move(issued.key), std::move(issued.cert)};
}

std::string encrypted_private_key_pem(const EVP_PKEY* key, std::string_view passphrase) {
    tls::BioPtr bio(BIO_new(BIO_s_mem()));
    std::string secret(passphrase);
    require(PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), secret.data(),
                                          static_cast<int>(secret.size()), nullptr, nullptr) == 1,
            "PEM_write_bio_PKCS8PrivateKey");
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

std::string crl_pem(const Identity& issuer) {
    const std::time_t now = std::time(nullptr);
    const fixtures::Issued signer = as_issued(issuer);
    fixtures::CrlSpec spec;
    spec.signer = &signer;
    spec.this_update = now;
    spec.next_update = now + 24 * one_hour;
    const std::vector<std::uint8_t> pem = fixtures::pem_of(fixtures::make_crl(spec).get());
    return std::string(pem.begin(), pem.end());
}

}  // namespace ocspgate::conf::testing
