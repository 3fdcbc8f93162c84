// PROXY protocol version 2 header (haproxy.org proxy-protocol.txt, section 2.2), sent first on
// the backend connection so the backend (Kamailio tcp_accept_haproxy, OpenLDAP pldap://) sees
// the real client address and the TLS facts ocspgate verified.
//
// Every length in the header is 16 bits: the header's own (addresses + all TLVs), each TLV's
// and each sub-TLV's of PP2_TYPE_SSL. A length cut to 16 bits would make the backend read the
// rest of a long value as the client's first bytes, so nothing here is ever cut: what does not
// fit is left out whole, or the header is refused (see proxy_v2_header).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace ocspgate::proxy {

struct ProxyTlsInfo {
    bool client_cert_verified = false;  // a client certificate was presented and verified
    std::string version;                // e.g. "TLSv1.3"
    std::string cipher;
    std::string common_name;            // client certificate CN, if any
};

struct ProxyHeader {
    std::vector<std::uint8_t> bytes;
    // Sub-TLVs that did not fit and were left out, by their spec name
    // ("PP2_SUBTYPE_SSL_VERSION", "PP2_SUBTYPE_SSL_CIPHER"); empty in practice.
    std::vector<std::string_view> left_out;
};

// The largest value of any PROXY v2 length field, and so of the header after its first 16 bytes.
inline constexpr std::size_t kProxyV2MaxLength = 0xFFFF;

// `source`: the client's address; `destination`: the address it connected to. Both must be
// the same family (AF_INET or AF_INET6); otherwise the header says LOCAL with no address.
//
// The CN is the client's identity to the backend, so it gets the room first and is never left
// out: without it the header would still say "verified client certificate"
// (PP2_CLIENT_CERT_CONN) and the backend would take the client for one whose certificate has
// no CN. A CN that cannot fit (more than kProxyV2MaxLength minus the addresses and the SSL
// TLV's fixed part: 65 512 bytes over IPv4, 65 488 over IPv6; RFC 5280's ub-common-name is
// 64) is an Errc::limit error and the caller refuses the connection. The version and cipher
// only describe the channel: whichever does not fit in what is left is left out and named in
// `left_out`.
Result<ProxyHeader> proxy_v2_header(const sockaddr* source, const sockaddr* destination,
                                    const ProxyTlsInfo& tls);

}  // namespace ocspgate::proxy
