// The client side of one TLS connection over memory BIOs, for the load generator.
//
// Same verbs as the product's server engine (tls/engine.h): ciphertext from the socket goes in
// with enc_in(), what OpenSSL wants sent comes out of take_enc_out(); plaintext goes in with
// clear_in() and comes out of clear_out(). No I/O here: perf/load/connection.cpp owns sockets.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "tls/ossl.h"

namespace ocspgate::perf {

// One SSL_CTX per client certificate, so connections can rotate over a pool of identities.
// Resumption is off: every connection is a full handshake.
struct ClientIdentity {
    tls::SslCtxPtr ctx;
    std::string chain_file;
    // A minted identity (perf/load/mint.h) shares one context (each holds a reference); its
    // certificate, the pool's key and the issuing CA are set on each SSL instead. Empty for
    // identities loaded from files, whose context carries the certificate.
    tls::X509Ptr cert;
    tls::EvpPkeyPtr key;
    tls::X509Ptr issuer;  // sent as the chain
};

struct ClientOptions {
    int tls_version = TLS1_3_VERSION;  // exact version: min = max
    std::string ca_file;               // verify the server against it; empty: do not verify
};

// Loads `chain_file` (certificate first, then intermediates) and `key_file` into a new client
// context. Returns nullptr and fills `error` when either does not load.
tls::SslCtxPtr make_client_context(const ClientOptions& options, const std::string& chain_file,
                                   const std::string& key_file, std::string& error);
// The same without a certificate: for identities that set theirs on each SSL (minted pools).
tls::SslCtxPtr make_client_context(const ClientOptions& options, std::string& error);

enum class Step { want_more, done, failed };

class ClientTls {
public:
    explicit ClientTls(const ClientIdentity& identity);

    void enc_in(std::span<const char> ciphertext);
    // Moves everything OpenSSL produced so far into `out` (appending).
    void take_enc_out(std::vector<char>& out);

    Step handshake();
    // Queues plaintext; returns failed on a fatal error.
    Step clear_in(std::span<const char> plaintext);
    // Appends decrypted bytes to `out`. done = the peer closed (close_notify).
    Step clear_out(std::vector<char>& out);
    void shutdown();

    // Why the last step failed, e.g. "sslv3 alert certificate revoked".
    const std::string& failure() const { return failure_; }

private:
    Step fail_from(int ret, const char* what);

    tls::SslPtr ssl_;
    BIO* enc_in_bio_ = nullptr;   // owned by ssl_
    BIO* enc_out_bio_ = nullptr;  // owned by ssl_
    std::string failure_;
};

}  // namespace ocspgate::perf
