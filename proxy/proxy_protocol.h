// PROXY protocol version 2 header (haproxy.org proxy-protocol.txt, section 2.2), sent first on
// the backend connection so the backend (Kamailio tcp_accept_haproxy, OpenLDAP pldap://) sees
// the real client address and the TLS facts ocspgate verified.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ocspgate::proxy {

struct ProxyTlsInfo {
    bool client_cert_verified = false;  // a client certificate was presented and verified
    std::string version;                // e.g. "TLSv1.3"
    std::string cipher;
    std::string common_name;            // client certificate CN, if any
};

// `source`: the client's address; `destination`: the address it connected to. Both must be
// the same family (AF_INET or AF_INET6); otherwise the header says LOCAL with no address.
std::vector<std::uint8_t> proxy_v2_header(const sockaddr* source, const sockaddr* destination,
                                          const ProxyTlsInfo& tls);

}  // namespace ocspgate::proxy
