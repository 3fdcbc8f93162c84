#include "proxy/front.h"

namespace ocspgate::proxy {

std::size_t Front::on_plaintext(std::span<const std::uint8_t> data, FrontOutput& out) {
    out.close_reason = "plaintext before TLS on a TLS-only listener";
    return data.size();
}

std::unique_ptr<Front> make_front(const conf::Listener& listener) {
    switch (listener.protocol) {
        case conf::Protocol::tcp: return nullptr;
        // The SIP and LDAP fronts plug in here as they are written; until then those
        // protocols forward bytes unchanged, like tcp.
        case conf::Protocol::sip:
        case conf::Protocol::ldaps:
        case conf::Protocol::ldap_starttls: return nullptr;
    }
    return nullptr;
}

}  // namespace ocspgate::proxy
