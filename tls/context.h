// SSL_CTX construction with the project's secure defaults: the server side toward clients and
// the client side toward TLS backends (backend_tls).
//
// Defaults (a listener may change the first two through ProtocolSettings, see
// protocol_settings.h): TLS 1.2+ only, ECDHE with AEAD ciphers for TLS 1.2; never
// configurable: no renegotiation, no compression, and no session resumption at all
// (no tickets, no session cache) so a resumed session can never skip the revocation check;
// issuing no tickets also saves ~45% of the server's handshake CPU on this OpenSSL.
#pragma once

#include <filesystem>

#include "tls/ossl.h"
#include "tls/protocol_settings.h"
#include "base/result.h"

namespace ocspgate::tls {

enum class PeerVerification { required, optional, none };

struct ServerContextOptions {
    std::filesystem::path certificate_chain;  // PEM: leaf first, then intermediates
    std::filesystem::path private_key;
    // Optional second identity with a different key type (say RSA beside ECDSA): OpenSSL keeps
    // one certificate per key type and picks, per handshake, the one the client's suites and
    // signature algorithms allow. Empty: one certificate only.
    std::filesystem::path second_certificate_chain;
    std::filesystem::path second_private_key;
    std::filesystem::path client_ca;          // PEM bundle; may be empty when verification is none
    PeerVerification verify_peer = PeerVerification::required;
    ProtocolSettings protocol;
    // Suspend certificate verification with SSL_MODE_ASYNC so a revocation lookup can run;
    // only needed (and only paid for) on listeners with a revocation profile.
    bool async_verification = false;
    // TLS 1.3 connections leave OpenSSL after the handshake for tls::Record13 (engine.h).
    bool own_record_layer = false;
};

Result<SslCtxPtr> make_server_context(const ServerContextOptions& options);

// Client side, toward a TLS backend: the same protocol defaults (TLS 1.2+, AEAD, no
// renegotiation), the peer's chain verified against `ca_file`; the name check is set per
// connection by Engine::create_client. No client certificate is presented. With
// `async_verification` the Engine's verify callback asks a RevocationGate about the server's
// chain and may suspend the handshake (backend_revocation).
Result<SslCtxPtr> make_client_context(const std::filesystem::path& ca_file, bool async_verification = false);

// Client side toward https:// OCSP and CRL servers: the same protocol defaults, the server
// verified against `ca_file` (empty: the system trust store); a client certificate is
// presented when `certificate` and `private_key` are set.
struct HttpsClientOptions {
    std::filesystem::path ca_file;
    std::filesystem::path certificate;
    std::filesystem::path private_key;
};
Result<SslCtxPtr> make_https_client_context(const HttpsClientOptions& options);

}  // namespace ocspgate::tls
