// Test support: a throwaway folder and the certificates, keys and CRLs the loader checks,
// generated in-process (tests/support) so that the conf tests need no fixture files.
#pragma once

#include <string>
#include <string_view>

#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "tls/ossl.h"

namespace ocspgate::conf::testing {

using fixtures::certificate_pem;
using fixtures::private_key_pem;
using fixtures::TempDir;

struct Identity {
    tls::EvpPkeyPtr key;       // EC P-256
    tls::X509Ptr certificate;  // self-signed, valid from an hour ago for a day
};

Identity make_identity(std::string_view common_name);

std::string encrypted_private_key_pem(const EVP_PKEY* key, std::string_view passphrase);
// An empty CRL issued (and signed) by `issuer`, current for a day.
std::string crl_pem(const Identity& issuer);

}  // namespace ocspgate::conf::testing
