#include "tls/context.h"

#include "tls/engine.h"
#include "tls/verified_chain_cache.h"

namespace ocspgate::tls {
namespace {

// TLS 1.2 suites: forward secrecy and AEAD only. TLS 1.3 suites are all AEAD already.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

Error tls_error(const std::string& what) { return make_error(Errc::tls, drain_errors(what)); }

Result<Ok> apply_protocol_defaults(SSL_CTX* ctx, MinVersion min_version) {
    int min = min_version == MinVersion::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
    if (SSL_CTX_set_min_proto_version(ctx, min) != 1) return tls_error("cannot set minimum TLS version");
    if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) return tls_error("cannot set TLS 1.2 ciphers");
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    // Idle connections give their read/write buffers back (issue: memory per idle connection).
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    return Ok{};
}

Result<Ok> load_identity(SSL_CTX* ctx, const ServerContextOptions& o) {
    if (SSL_CTX_use_certificate_chain_file(ctx, o.certificate_chain.c_str()) != 1)
        return tls_error("cannot load certificate chain " + o.certificate_chain.string());
    if (SSL_CTX_use_PrivateKey_file(ctx, o.private_key.c_str(), SSL_FILETYPE_PEM) != 1)
        return tls_error("cannot load private key " + o.private_key.string());
    if (SSL_CTX_check_private_key(ctx) != 1)
        return tls_error("private key " + o.private_key.string() + " does not match the certificate");
    return Ok{};
}

Result<Ok> load_client_trust(SSL_CTX* ctx, const ServerContextOptions& o) {
    if (o.verify_peer == PeerVerification::none) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
        return Ok{};
    }
    if (SSL_CTX_load_verify_locations(ctx, o.client_ca.c_str(), nullptr) != 1)
        return tls_error("cannot load client CA bundle " + o.client_ca.string());
    // Tell clients which issuers we accept so they pick the right certificate.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.client_ca.c_str());
    if (names == nullptr) return tls_error("no CA names in " + o.client_ca.string());
    SSL_CTX_set_client_CA_list(ctx, names);
    int mode = SSL_VERIFY_PEER;
    if (o.verify_peer == PeerVerification::required) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, nullptr);
    Engine::install_verify_callback(ctx);
    // Clients reconnect with the same chain; the trust store never changes after this point
    // (a reload builds a new context, with a new cache).
    VerifiedChainCache::attach(ctx);
    return Ok{};
}

}  // namespace

Result<SslCtxPtr> make_server_context(const ServerContextOptions& options) {
    clear_errors();
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) return tls_error("SSL_CTX_new");
    if (auto r = apply_protocol_defaults(ctx.get(), options.min_version); !r) return std::move(r).error();
    if (auto r = load_identity(ctx.get(), options); !r) return std::move(r).error();
    if (auto r = load_client_trust(ctx.get(), options); !r) return std::move(r).error();
    if (options.async_verification) SSL_CTX_set_mode(ctx.get(), SSL_MODE_ASYNC);
    return ctx;
}

Result<SslCtxPtr> make_client_context(const std::filesystem::path& ca_file, bool async_verification) {
    clear_errors();
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) return tls_error("SSL_CTX_new");
    if (auto r = apply_protocol_defaults(ctx.get(), MinVersion::tls1_2); !r) return std::move(r).error();
    if (SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1)
        return tls_error("cannot load backend CA bundle " + ca_file.string());
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (async_verification) {
        Engine::install_verify_callback(ctx.get());
        SSL_CTX_set_mode(ctx.get(), SSL_MODE_ASYNC);
    }
    return ctx;
}

Result<SslCtxPtr> make_https_client_context(const HttpsClientOptions& options) {
    clear_errors();
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) return tls_error("SSL_CTX_new");
    if (auto r = apply_protocol_defaults(ctx.get(), MinVersion::tls1_2); !r) return std::move(r).error();
    bool trust_loaded = options.ca_file.empty()
                            ? SSL_CTX_set_default_verify_paths(ctx.get()) == 1
                            : SSL_CTX_load_verify_locations(ctx.get(), options.ca_file.c_str(), nullptr) == 1;
    if (!trust_loaded) return tls_error("cannot load CA certificates for https responders");
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (!options.certificate.empty()) {
        if (SSL_CTX_use_certificate_chain_file(ctx.get(), options.certificate.c_str()) != 1)
            return tls_error("cannot load client certificate " + options.certificate.string());
        if (SSL_CTX_use_PrivateKey_file(ctx.get(), options.private_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx.get()) != 1)
            return tls_error("cannot use private key " + options.private_key.string());
    }
    return ctx;
}

}  // namespace ocspgate::tls
