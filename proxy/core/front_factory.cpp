#include "proxy/core/front_factory.h"

#include "proxy/ldap/front.h"
#include "proxy/ldap/unavailable.h"
#include "proxy/sip/front.h"

namespace ocspgate::proxy {

std::unique_ptr<Front> make_front(const conf::Listener& listener) {
    switch (listener.protocol) {
        case conf::Protocol::tcp: return nullptr;
        case conf::Protocol::sip: return std::make_unique<sip::SipFront>(listener.sip);
        case conf::Protocol::ldaps:  // LDAP inside TLS from the first byte: plain forwarding
            return listener.ldap.answer_unavailable ? std::make_unique<ldap::LdapsFront>(listener.ldap) : nullptr;
        case conf::Protocol::ldap_starttls: return std::make_unique<ldap::LdapStartTlsFront>(listener.ldap);
    }
    return nullptr;
}

}  // namespace ocspgate::proxy
