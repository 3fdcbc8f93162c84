#include "proxy/proxy_protocol.h"

#include <netinet/in.h>

#include <cstring>

namespace ocspgate::proxy {
namespace {

constexpr std::uint8_t kSignature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::uint8_t kVersion2Proxy = 0x21;
constexpr std::uint8_t kVersion2Local = 0x20;
constexpr std::uint8_t kTcpOverIpv4 = 0x11;
constexpr std::uint8_t kTcpOverIpv6 = 0x21;
constexpr std::uint8_t kUnspecified = 0x00;
constexpr std::uint8_t kTypeSsl = 0x20;
constexpr std::uint8_t kSubtypeSslVersion = 0x21;
constexpr std::uint8_t kSubtypeSslCn = 0x22;
constexpr std::uint8_t kSubtypeSslCipher = 0x23;
constexpr std::uint8_t kClientSsl = 0x01;
constexpr std::uint8_t kClientCertConn = 0x02;

void put16(std::vector<std::uint8_t>& out, std::size_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

void put_bytes(std::vector<std::uint8_t>& out, const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    out.insert(out.end(), b, b + n);
}

void put_tlv(std::vector<std::uint8_t>& out, std::uint8_t type, const std::string& value) {
    out.push_back(type);
    put16(out, value.size());
    put_bytes(out, value.data(), value.size());
}

std::vector<std::uint8_t> ssl_tlv(const ProxyTlsInfo& tls) {
    std::vector<std::uint8_t> body;
    body.push_back(static_cast<std::uint8_t>(kClientSsl | (tls.client_cert_verified ? kClientCertConn : 0)));
    body.insert(body.end(), {0, 0, 0, 0});  // verify: 0 = the client certificate verified (or none)
    if (!tls.version.empty()) put_tlv(body, kSubtypeSslVersion, tls.version);
    if (!tls.common_name.empty()) put_tlv(body, kSubtypeSslCn, tls.common_name);
    if (!tls.cipher.empty()) put_tlv(body, kSubtypeSslCipher, tls.cipher);
    std::vector<std::uint8_t> tlv{kTypeSsl};
    put16(tlv, body.size());
    tlv.insert(tlv.end(), body.begin(), body.end());
    return tlv;
}

}  // namespace

std::vector<std::uint8_t> proxy_v2_header(const sockaddr* source, const sockaddr* destination,
                                          const ProxyTlsInfo& tls) {
    std::vector<std::uint8_t> addresses;
    std::uint8_t family = kUnspecified;
    if (source->sa_family == AF_INET && destination->sa_family == AF_INET) {
        const auto* s = reinterpret_cast<const sockaddr_in*>(source);
        const auto* d = reinterpret_cast<const sockaddr_in*>(destination);
        family = kTcpOverIpv4;
        put_bytes(addresses, &s->sin_addr, 4);
        put_bytes(addresses, &d->sin_addr, 4);
        put_bytes(addresses, &s->sin_port, 2);  // already network byte order
        put_bytes(addresses, &d->sin_port, 2);
    } else if (source->sa_family == AF_INET6 && destination->sa_family == AF_INET6) {
        const auto* s = reinterpret_cast<const sockaddr_in6*>(source);
        const auto* d = reinterpret_cast<const sockaddr_in6*>(destination);
        family = kTcpOverIpv6;
        put_bytes(addresses, &s->sin6_addr, 16);
        put_bytes(addresses, &d->sin6_addr, 16);
        put_bytes(addresses, &s->sin6_port, 2);
        put_bytes(addresses, &d->sin6_port, 2);
    }
    std::vector<std::uint8_t> tlvs = ssl_tlv(tls);
    std::vector<std::uint8_t> out(std::begin(kSignature), std::end(kSignature));
    out.push_back(family == kUnspecified ? kVersion2Local : kVersion2Proxy);
    out.push_back(family);
    put16(out, addresses.size() + tlvs.size());
    out.insert(out.end(), addresses.begin(), addresses.end());
    out.insert(out.end(), tlvs.begin(), tlvs.end());
    return out;
}

}  // namespace ocspgate::proxy
