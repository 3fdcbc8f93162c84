#include "tls/staple.h"

#include <openssl/crypto.h>
#include <openssl/tls1.h>

#include <cstring>

namespace ocspgate::tls {
namespace {

// OpenSSL calls this on the server once it knows the client asked for a status (TLS 1.2: in
// the ServerHello flight; TLS 1.3: for the Certificate message's first entry).
int on_status_request(SSL* ssl, void* arg) {
    auto* slot = static_cast<StapleSlot*>(arg);
    if (SSL_get_tlsext_status_type(ssl) != TLSEXT_STATUSTYPE_ocsp) return SSL_TLSEXT_ERR_NOACK;
    const StapleSlot::Der der = slot->get();
    if (!der || der->empty()) return SSL_TLSEXT_ERR_NOACK;
    // OpenSSL takes the buffer and frees it with the SSL object: a copy per handshake.
    auto* copy = static_cast<unsigned char*>(OPENSSL_malloc(der->size()));
    if (copy == nullptr) return SSL_TLSEXT_ERR_NOACK;
    std::memcpy(copy, der->data(), der->size());
    if (SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(der->size())) != 1) {
        OPENSSL_free(copy);
        return SSL_TLSEXT_ERR_NOACK;
    }
    return SSL_TLSEXT_ERR_OK;
}

// Runs before the server's certificate is sent: 0 fails the handshake (internal_error alert).
int on_certificate(SSL* /*ssl*/, void* arg) { return static_cast<StapleSlot*>(arg)->refusing() ? 0 : 1; }

}  // namespace

void enable_stapling(SSL_CTX* ctx, StapleSlot* slot) {
    SSL_CTX_set_tlsext_status_cb(ctx, on_status_request);
    SSL_CTX_set_tlsext_status_arg(ctx, slot);
    SSL_CTX_set_cert_cb(ctx, on_certificate, slot);
}

}  // namespace ocspgate::tls
