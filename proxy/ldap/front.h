// protocol = "ldap-starttls": plain LDAP until the client's StartTLS request (RFC 4511
// section 4.14, RFC 4513 section 3), then TLS with the usual client-certificate and
// revocation checks, then LDAP forwarded unchanged to the backend.
//
// Before TLS the front frames LDAPMessages itself and nothing reaches the backend:
//  - StartTLS (ExtendedRequest 1.3.6.1.4.1.1466.20037): answered with a success
//    ExtendedResponse (same messageID, responseName = the StartTLS OID); the handshake starts.
//  - Unbind: the connection closes.  Abandon: ignored (it has no response).
//  - Any other operation: answered with confidentialityRequired (13) in its own response
//    type (BindResponse, SearchResultDone, ...). The connection stays open so the client can
//    still send StartTLS, as RFC 4513 section 3.1.1 allows; handshake_timeout bounds the
//    whole plaintext phase.
//  - Malformed BER, an unknown operation or a message above max_message_size: a Notice of
//    Disconnection (protocolError) and close.
// After TLS the front passes bytes through in both directions without framing them.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "conf/config.h"
#include "proxy/front/front.h"
#include "proxy/ldap/ber.h"
#include "proxy/ldap/unavailable.h"

namespace ocspgate::proxy::ldap {

class LdapStartTlsFront final : public Front {
public:
    explicit LdapStartTlsFront(const conf::LdapSettings& settings)
        : max_message_size_(settings.max_message_size), answer_unavailable_(settings.answer_unavailable) {}

    bool starts_in_plaintext() const override { return true; }
    std::size_t on_plaintext(std::span<const std::uint8_t> data, FrontOutput& out) override;

    void on_handshake_done(const PeerIdentity& /*peer*/) override {}
    void on_client_data(std::span<const std::uint8_t> data, FrontOutput& out) override;
    void on_backend_data(std::span<const std::uint8_t> data, FrontOutput& out) override;
    bool on_backend_failed(std::span<const std::uint8_t> unsent, FrontOutput& out) override;

private:
    // Handles one complete message; returns false once the plaintext phase is over.
    bool on_message(std::span<const std::uint8_t> message, FrontOutput& out);
    void disconnect(const std::string& reason, FrontOutput& out);

    std::size_t max_message_size_;
    bool answer_unavailable_;
    std::optional<UnavailableAnswer> unavailable_;  // set once the backend failed (unavailable.h)
    std::vector<std::uint8_t> pending_;  // plaintext received, not yet a whole LDAPMessage
};

}  // namespace ocspgate::proxy::ldap
