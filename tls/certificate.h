// Read-only helpers that describe certificates for logs, identity headers and expiry checks.
// None of them return key material.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "tls/ossl.h"
#include "base/result.h"

namespace ocspgate::tls {

std::string subject_of(const X509* cert);      // RFC 2253, e.g. "CN=phone-1,O=Example"
std::string issuer_of(const X509* cert);       // RFC 2253
std::string common_name_of(const X509* cert);  // first CN of the subject, or ""
std::string serial_hex_of(const X509* cert);   // upper-case hex, no separators
std::string sha256_fingerprint_of(const X509* cert);  // lower-case hex, no separators
std::chrono::system_clock::time_point not_after_of(const X509* cert);

// Every certificate in a PEM file, in file order. An empty file is an error.
Result<std::vector<X509Ptr>> load_certificates(const std::filesystem::path& pem_file);

}  // namespace ocspgate::tls
