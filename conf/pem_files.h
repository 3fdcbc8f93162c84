// Internal to conf/: reading the certificate, key and CRL files a configuration names, so
// that a bad file is reported at its key when the configuration is loaded rather than when
// the first client connects.
#pragma once

#include <filesystem>
#include <string>

#include "tls/ossl.h"
#include "base/result.h"

namespace ocspgate::conf {

// The whole file. Fails, with errno's reason, on anything but a readable regular file.
Result<std::string> read_file(const std::filesystem::path& file);

// Every certificate in a PEM file; fails if there is none or one does not parse.
Result<tls::X509StackPtr> read_certificates(const std::filesystem::path& file);

// The first private key in a PEM file. Encrypted keys fail: there is nobody to ask for the
// passphrase, and OpenSSL would otherwise prompt on the terminal.
Result<tls::EvpPkeyPtr> read_private_key(const std::filesystem::path& file);

// A CRL in PEM or DER form.
Result<tls::X509CrlPtr> read_crl(const std::filesystem::path& file);

// True only when both files load and the key is not the first certificate's private key.
// A file that does not load is not a mismatch: it is reported at its own key.
bool key_mismatch(const std::filesystem::path& certificate_file,
                  const std::filesystem::path& key_file);

}  // namespace ocspgate::conf
