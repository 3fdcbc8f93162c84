// LDAP answers for a client whose backend cannot be reached ([listener.ldap]
// answer_unavailable): the client's first operation that has a response gets it, in its own
// response type (BindResponse, SearchResultDone, ...), with resultCode unavailable (52,
// RFC 4511 appendix A.2: "the server is shutting down or a subsystem necessary to complete
// the operation is offline"), and the connection closes. A client with a second server fails
// over on it at once; ldapsearch reports "Server is unavailable (52)". No I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "conf/config.h"
#include "proxy/front/front.h"

namespace ocspgate::proxy::ldap {

class UnavailableAnswer {
public:
    explicit UnavailableAnswer(std::size_t max_message_size) : max_message_size_(max_message_size) {}
    // Client plaintext (split anywhere). Once the answer or a refusal is written, `out`
    // carries close_reason and later bytes are ignored.
    void feed(std::span<const std::uint8_t> data, FrontOutput& out);

private:
    std::size_t max_message_size_;
    std::vector<std::uint8_t> pending_;  // not yet one whole LDAPMessage
    bool done_ = false;
};

// protocol = "ldaps" with answer_unavailable: passes bytes through like no front at all, and
// answers for an unreachable backend with UnavailableAnswer.
class LdapsFront final : public Front {
public:
    explicit LdapsFront(const conf::LdapSettings& settings) : settings_(settings) {}
    void on_handshake_done(const PeerIdentity& /*peer*/) override {}
    void on_client_data(std::span<const std::uint8_t> data, FrontOutput& out) override;
    void on_backend_data(std::span<const std::uint8_t> data, FrontOutput& out) override;
    bool on_backend_failed(std::span<const std::uint8_t> unsent, FrontOutput& out) override;

private:
    const conf::LdapSettings& settings_;  // owned by the listener, which outlives connections
    std::optional<UnavailableAnswer> unavailable_;  // set once the backend failed
};

}  // namespace ocspgate::proxy::ldap
