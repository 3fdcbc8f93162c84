#include "proxy/front.h"

#include "proxy/ldap_front.h"
#include "proxy/sip_front.h"

namespace ocspgate::proxy {

void append_bytes(std::vector<std::uint8_t>& out, std::string_view text) {
    // Byte pointers, not a char range: inserting chars converted them one element at a time.
    const auto* data = reinterpret_cast<const std::uint8_t*>(text.data());
    out.insert(out.end(), data, data + text.size());
}

std::size_t Front::on_plaintext(std::span<const std::uint8_t> data, FrontOutput& out) {
    out.close_reason = "plaintext before TLS on a TLS-only listener";
    return data.size();
}

std::unique_ptr<Front> make_front(const conf::Listener& listener) {
    switch (listener.protocol) {
        case conf::Protocol::tcp: return nullptr;
        case conf::Protocol::sip: return std::make_unique<SipFront>(listener.sip);
        // The LDAP fronts plug in here as they are written; until then those protocols
        // forward bytes unchanged, like tcp.
        case conf::Protocol::ldaps: return nullptr;  // LDAP inside TLS from the first byte: plain forwarding
        case conf::Protocol::ldap_starttls: return std::make_unique<LdapStartTlsFront>(listener.ldap);
    }
    return nullptr;
}

}  // namespace ocspgate::proxy
