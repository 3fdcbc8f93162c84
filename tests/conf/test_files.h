// Test support: a throwaway folder and the certificates, keys and CRLs the loader checks,
// generated with the OpenSSL API so that the conf tests need no fixture files.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "tls/ossl.h"

namespace ocspgate::conf::testing {

// A fresh folder under the system temp dir, removed with everything in it on destruction.
class TempDir {
public:
    TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();

    const std::filesystem::path& path() const { return path_; }
    // Writes `content` to path()/relative, creating folders; returns the absolute path.
    std::filesystem::path write(const std::filesystem::path& relative,
                                std::string_view content) const;

private:
    std::filesystem::path path_;
};

struct Identity {
    tls::EvpPkeyPtr key;       // EC P-256
    tls::X509Ptr certificate;  // self-signed, valid from an hour ago for a day
};

Identity make_identity(std::string_view common_name);

std::string certificate_pem(const X509* certificate);
std::string private_key_pem(const EVP_PKEY* key);
std::string encrypted_private_key_pem(const EVP_PKEY* key, std::string_view passphrase);
// An empty CRL issued (and signed) by `issuer`.
std::string crl_pem(const Identity& issuer);

}  // namespace ocspgate::conf::testing
