// OCSP stapling of a listener's own certificate (RFC 6066 §8 for TLS 1.2, RFC 8446 §4.4.2.1
// for TLS 1.3): the response a client asks for with status_request is taken from a slot that
// a background fetcher (ocsp/own_staple.h) fills, so a handshake never waits for a responder.
//
// Threading: the slot is written on the main loop and read by every worker's handshakes.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace ocspgate::tls {

class StapleSlot {
public:
    using Der = std::shared_ptr<const std::vector<std::uint8_t>>;

    // The DER OCSPResponse to staple from now on; null: none (clients get no status).
    void set(Der der) { der_.store(std::move(der)); }
    Der get() const { return der_.load(); }

    // While set, every handshake on the listener fails: its own certificate is known revoked
    // and the listener is configured not to serve it (stapling_revoked = "refuse").
    void refuse(bool on) { refusing_.store(on); }
    bool refusing() const { return refusing_.load(); }

private:
    std::atomic<Der> der_;
    std::atomic<bool> refusing_{false};
};

// Staples `slot`'s response to the handshakes of `ctx` whose client sends status_request,
// and refuses every handshake while the slot refuses. `slot` must outlive `ctx`'s SSL objects.
void enable_stapling(SSL_CTX* ctx, StapleSlot* slot);

}  // namespace ocspgate::tls
