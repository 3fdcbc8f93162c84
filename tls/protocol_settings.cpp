#include "tls/protocol_settings.h"

namespace ocspgate::tls {
namespace {

// TLS 1.2 suites: forward secrecy and AEAD only. TLS 1.3 suites are all AEAD already.
constexpr const char* kDefaultTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

Error tls_error(const std::string& what) { return make_error(Errc::tls, drain_errors(what)); }

int protocol_version(MinVersion version) {
    switch (version) {
        case MinVersion::tls1_0: return TLS1_VERSION;
        case MinVersion::tls1_1: return TLS1_1_VERSION;
        case MinVersion::tls1_2: return TLS1_2_VERSION;
        case MinVersion::tls1_3: return TLS1_3_VERSION;
    }
    return TLS1_2_VERSION;
}

const char* setting_name(ProtocolString which) {
    switch (which) {
        case ProtocolString::ciphers: return "ciphers";
        case ProtocolString::ciphersuites: return "ciphersuites";
        case ProtocolString::groups: return "groups";
        case ProtocolString::signature_algorithms: return "signature_algorithms";
    }
    return "?";
}

// 1 on success, as the OpenSSL setters return.
int set_string(SSL_CTX* ctx, ProtocolString which, const std::string& value) {
    switch (which) {
        case ProtocolString::ciphers: return SSL_CTX_set_cipher_list(ctx, value.c_str());
        case ProtocolString::ciphersuites: return SSL_CTX_set_ciphersuites(ctx, value.c_str());
        case ProtocolString::groups: return static_cast<int>(SSL_CTX_set1_groups_list(ctx, value.c_str()));
        case ProtocolString::signature_algorithms:
            return static_cast<int>(SSL_CTX_set1_sigalgs_list(ctx, value.c_str()));
    }
    return 0;
}

Result<Ok> set_if_given(SSL_CTX* ctx, ProtocolString which, const std::string& value) {
    if (value.empty()) return Ok{};
    if (set_string(ctx, which, value) != 1)
        return tls_error(std::string("OpenSSL refuses ") + setting_name(which) + " \"" + value + "\"");
    return Ok{};
}

}  // namespace

Result<Ok> apply_protocol_settings(SSL_CTX* ctx, const ProtocolSettings& s) {
    clear_errors();
    if (SSL_CTX_set_min_proto_version(ctx, protocol_version(s.min_version)) != 1)
        return tls_error("cannot set minimum TLS version");
    // The security level first: it decides which of the listed suites and groups are usable.
    if (s.security_level) SSL_CTX_set_security_level(ctx, *s.security_level);
    const std::string& ciphers = s.ciphers.empty() ? std::string(kDefaultTls12Ciphers) : s.ciphers;
    if (auto r = set_if_given(ctx, ProtocolString::ciphers, ciphers); !r) return r;
    if (auto r = set_if_given(ctx, ProtocolString::ciphersuites, s.ciphersuites); !r) return r;
    if (auto r = set_if_given(ctx, ProtocolString::groups, s.groups); !r) return r;
    if (auto r = set_if_given(ctx, ProtocolString::signature_algorithms, s.signature_algorithms); !r) return r;
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    // Idle connections give their read/write buffers back (issue: memory per idle connection).
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    return Ok{};
}

Result<Ok> check_setting(ProtocolString which, const std::string& value) {
    clear_errors();
    SslCtxPtr scratch(SSL_CTX_new(TLS_server_method()));
    if (!scratch) return tls_error("SSL_CTX_new");
    return set_if_given(scratch.get(), which, value);
}

}  // namespace ocspgate::tls
