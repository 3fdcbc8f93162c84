#include "tls/context.h"

#include "tls/engine.h"
#include "tls/verified_chain_cache.h"

namespace ocspgate::tls {
namespace {

Error tls_error(const std::string& what) { return make_error(Errc::tls, drain_errors(what)); }

// Toward backends and responders: the secure defaults, never relaxed.
Result<Ok> apply_client_defaults(SSL_CTX* ctx) { return apply_protocol_settings(ctx, ProtocolSettings{}); }

// Loads one certificate chain and its key. A chain whose key type is already loaded
// replaces it, so the caller must ensure the second identity has a different type.
Result<Ok> load_chain_and_key(SSL_CTX* ctx, const std::filesystem::path& chain, const std::filesystem::path& key) {
    if (SSL_CTX_use_certificate_chain_file(ctx, chain.c_str()) != 1)
        return tls_error("cannot load certificate chain " + chain.string());
    if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1)
        return tls_error("cannot load private key " + key.string());
    if (SSL_CTX_check_private_key(ctx) != 1)
        return tls_error("private key " + key.string() + " does not match the certificate");
    return Ok{};
}

Result<Ok> load_identity(SSL_CTX* ctx, const ServerContextOptions& o) {
    if (auto r = load_chain_and_key(ctx, o.certificate_chain, o.private_key); !r) return r;
    if (o.second_certificate_chain.empty()) return Ok{};
    // Remember the first certificate's key type: loading a second one of the same type would
    // silently replace it.
    EVP_PKEY* first_key = SSL_CTX_get0_privatekey(ctx);
    int first_type = first_key ? EVP_PKEY_get_base_id(first_key) : EVP_PKEY_NONE;
    if (auto r = load_chain_and_key(ctx, o.second_certificate_chain, o.second_private_key); !r) return r;
    EVP_PKEY* second_key = SSL_CTX_get0_privatekey(ctx);
    if (second_key != nullptr && EVP_PKEY_get_base_id(second_key) == first_type)
        return make_error(Errc::tls, "certificate " + o.second_certificate_chain.string() +
                                         " has the same key type as " + o.certificate_chain.string() +
                                         " and would replace it");
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
    if (auto r = apply_protocol_settings(ctx.get(), options.protocol); !r) return std::move(r).error();
    if (auto r = load_identity(ctx.get(), options); !r) return std::move(r).error();
    if (auto r = load_client_trust(ctx.get(), options); !r) return std::move(r).error();
    if (options.async_verification) SSL_CTX_set_mode(ctx.get(), SSL_MODE_ASYNC);
    if (options.own_record_layer) Engine::install_own_record_layer(ctx.get());
    return ctx;
}

Result<SslCtxPtr> make_client_context(const std::filesystem::path& ca_file, bool async_verification) {
    clear_errors();
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) return tls_error("SSL_CTX_new");
    if (auto r = apply_client_defaults(ctx.get()); !r) return std::move(r).error();
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
    if (auto r = apply_client_defaults(ctx.get()); !r) return std::move(r).error();
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
