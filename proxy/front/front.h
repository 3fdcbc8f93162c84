// A protocol front: what a listener does with plaintext between the client's TLS and the
// backend (SIP framing and identity headers, LDAP StartTLS, ...). `protocol = "tcp"` has no
// front at all, so plain forwarding pays nothing for this seam.
//
// Fronts do no I/O: the Connection hands them bytes and sends what they put in FrontOutput,
// in order: `to_client` (answers ocspgate gives itself, e.g. a SIP 400 or a CRLF pong),
// `to_backend`, and then closes the connection if `close_reason` is set. The fronts (sip/,
// ldap/) depend on this interface only; proxy/core/front_factory.cpp picks one per listener.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ocspgate::proxy {

// The verified client, for fronts that pass identity to the backend.
struct PeerIdentity {
    std::string subject;
    std::string issuer;
    std::string serial;              // upper-case hex
    std::string fingerprint_sha256;  // lower-case hex
    std::string revocation;          // good | unknown | unchecked | ... ("" when no profile)
    std::string revocation_source;   // cache | URL | file
};

struct FrontOutput {
    std::vector<std::uint8_t> to_client;
    std::vector<std::uint8_t> to_backend;
    std::optional<std::string> close_reason;  // close after sending to_client
    bool start_tls = false;                   // plaintext phase over: the TLS handshake begins
};

// Appends `text` to one of FrontOutput's byte vectors, in one copy.
void append_bytes(std::vector<std::uint8_t>& out, std::string_view text);

class Front {
public:
    virtual ~Front() = default;

    // True for fronts that speak plaintext before TLS (LDAP StartTLS).
    virtual bool starts_in_plaintext() const { return false; }
    // Plaintext before TLS. Returns the bytes consumed; when `out.start_tls` is set, any
    // bytes after them are the client's first TLS bytes.
    virtual std::size_t on_plaintext(std::span<const std::uint8_t> data, FrontOutput& out);

    // The handshake completed; `peer` is the verified client (empty fields without one).
    virtual void on_handshake_done(const PeerIdentity& peer) = 0;
    // Decrypted client bytes, in order, possibly split anywhere.
    virtual void on_client_data(std::span<const std::uint8_t> data, FrontOutput& out) = 0;
    // Backend bytes on their way to the client (fronts may pass them through unchanged).
    virtual void on_backend_data(std::span<const std::uint8_t> data, FrontOutput& out) = 0;
    // The backend failed this accepted client before a connection to it was made (refused,
    // connect timeout: proxy/core/backend_failure.h). `unsent` is everything the front passed
    // for the backend so far, which nobody received. A front that answers on the backend's
    // behalf (SIP 503, LDAP `unavailable`) puts its answers in `out`, returns true, and from
    // then on answers in on_client_data instead of passing anything on (`out.to_backend` stays
    // empty; `out.close_reason` ends the connection). false, the default: the connection closes.
    virtual bool on_backend_failed(std::span<const std::uint8_t> /*unsent*/, FrontOutput& /*out*/) { return false; }
};

}  // namespace ocspgate::proxy
