// The per-listener TLS protocol knobs (issue #27 point 1): versions, the TLS 1.2 cipher list,
// TLS 1.3 cipher suites, key-exchange groups, signature algorithms and the OpenSSL security
// level. An empty string or unset level keeps the project's secure default (see context.h).
//
// The strings use OpenSSL's own syntax and are checked by OpenSSL itself: check_setting()
// tries one on a scratch SSL_CTX, so `--check-config` refuses exactly what start-up would.
#pragma once

#include <optional>
#include <string>

#include "base/result.h"
#include "tls/ossl.h"

namespace ocspgate::tls {

enum class MinVersion { tls1_0, tls1_1, tls1_2, tls1_3 };

struct ProtocolSettings {
    MinVersion min_version = MinVersion::tls1_2;
    std::string ciphers;               // TLS 1.2 and older, SSL_CTX_set_cipher_list syntax
    std::string ciphersuites;          // TLS 1.3, SSL_CTX_set_ciphersuites syntax
    std::string groups;                // SSL_CTX_set1_groups_list syntax, e.g. "X25519:P-256"
    std::string signature_algorithms;  // SSL_CTX_set1_sigalgs_list syntax
    std::optional<int> security_level; // 0..5; unset keeps OpenSSL's configured default
};

// Sets `settings` on `ctx`, plus the fixed options every context gets (no renegotiation,
// compression, tickets or session cache). The error names the setting OpenSSL refused.
Result<Ok> apply_protocol_settings(SSL_CTX* ctx, const ProtocolSettings& settings);

enum class ProtocolString { ciphers, ciphersuites, groups, signature_algorithms };

// Whether OpenSSL accepts `value` for `which`, tried on a scratch server SSL_CTX; the error
// carries OpenSSL's reason. Empty strings are the caller's business (they mean "default").
Result<Ok> check_setting(ProtocolString which, const std::string& value);

}  // namespace ocspgate::tls
