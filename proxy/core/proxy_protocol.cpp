#include "proxy/core/proxy_protocol.h"

#include <netinet/in.h>

#include <cassert>
#include <initializer_list>
#include <iterator>
#include <string>

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
constexpr std::size_t kTlvHeaderSize = 3;  // type, 16-bit length
constexpr std::size_t kSslFixedSize = 5;   // PP2_TYPE_SSL's client flags (1) and verify (4)

struct Addresses {
    std::uint8_t family = kUnspecified;
    std::vector<std::uint8_t> bytes;  // at most 36: two IPv6 addresses and two ports
};

// One sub-TLV of PP2_TYPE_SSL; an empty value is not sent.
struct SslSubTlv {
    std::uint8_t type;
    std::string_view name;
    std::string_view value;

    std::size_t encoded_size() const { return value.empty() ? 0 : kTlvHeaderSize + value.size(); }
};

// Every length field goes through here, and every caller has bounded the length first: a
// length is never cut to 16 bits.
void put_length(std::vector<std::uint8_t>& out, std::size_t length) {
    assert(length <= kProxyV2MaxLength);
    out.push_back(static_cast<std::uint8_t>(length >> 8));
    out.push_back(static_cast<std::uint8_t>(length & 0xff));
}

void put_bytes(std::vector<std::uint8_t>& out, const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    out.insert(out.end(), b, b + n);
}

Addresses address_block(const sockaddr* source, const sockaddr* destination) {
    Addresses a;
    if (source->sa_family == AF_INET && destination->sa_family == AF_INET) {
        const auto* s = reinterpret_cast<const sockaddr_in*>(source);
        const auto* d = reinterpret_cast<const sockaddr_in*>(destination);
        a.family = kTcpOverIpv4;
        put_bytes(a.bytes, &s->sin_addr, 4);
        put_bytes(a.bytes, &d->sin_addr, 4);
        put_bytes(a.bytes, &s->sin_port, 2);  // already network byte order
        put_bytes(a.bytes, &d->sin_port, 2);
    } else if (source->sa_family == AF_INET6 && destination->sa_family == AF_INET6) {
        const auto* s = reinterpret_cast<const sockaddr_in6*>(source);
        const auto* d = reinterpret_cast<const sockaddr_in6*>(destination);
        a.family = kTcpOverIpv6;
        put_bytes(a.bytes, &s->sin6_addr, 16);
        put_bytes(a.bytes, &d->sin6_addr, 16);
        put_bytes(a.bytes, &s->sin6_port, 2);
        put_bytes(a.bytes, &d->sin6_port, 2);
    }
    return a;
}

// The sub-TLVs to send, in the order they are written, within `room` bytes. The CN takes its
// room first and is never dropped (why: proxy_protocol.h); the version and the cipher each
// go in whole if what is left holds them, else they are named in `left_out`.
Result<std::vector<SslSubTlv>> fit_ssl_sub_tlvs(const ProxyTlsInfo& tls, std::size_t room,
                                                std::vector<std::string_view>& left_out) {
    const SslSubTlv cn{kSubtypeSslCn, "PP2_SUBTYPE_SSL_CN", tls.common_name};
    if (cn.encoded_size() > room) {
        return make_error(Errc::limit, "client certificate CN of " + std::to_string(tls.common_name.size()) +
                                           " bytes does not fit in the PROXY v2 header (at most " +
                                           std::to_string(room - kTlvHeaderSize) + ")");
    }
    room -= cn.encoded_size();
    std::vector<SslSubTlv> kept;
    for (const SslSubTlv& sub : {SslSubTlv{kSubtypeSslVersion, "PP2_SUBTYPE_SSL_VERSION", tls.version}, cn,
                                 SslSubTlv{kSubtypeSslCipher, "PP2_SUBTYPE_SSL_CIPHER", tls.cipher}}) {
        if (sub.value.empty()) continue;
        if (sub.type != kSubtypeSslCn) {
            if (sub.encoded_size() > room) {
                left_out.push_back(sub.name);
                continue;
            }
            room -= sub.encoded_size();
        }
        kept.push_back(sub);
    }
    return kept;
}

void put_ssl_tlv(std::vector<std::uint8_t>& out, bool client_cert_verified, const std::vector<SslSubTlv>& subs,
                 std::size_t body_size) {
    out.push_back(kTypeSsl);
    put_length(out, body_size);
    out.push_back(static_cast<std::uint8_t>(kClientSsl | (client_cert_verified ? kClientCertConn : 0)));
    out.insert(out.end(), {0, 0, 0, 0});  // verify: 0 = the client certificate verified (or none)
    for (const SslSubTlv& sub : subs) {
        out.push_back(sub.type);
        put_length(out, sub.value.size());
        put_bytes(out, sub.value.data(), sub.value.size());
    }
}

}  // namespace

Result<ProxyHeader> proxy_v2_header(const sockaddr* source, const sockaddr* destination,
                                    const ProxyTlsInfo& tls) {
    const Addresses addresses = address_block(source, destination);
    // The header's length field covers the addresses and the whole SSL TLV, so that bounds the
    // sub-TLVs (the SSL TLV's own length field is then within bounds too).
    const std::size_t room = kProxyV2MaxLength - addresses.bytes.size() - kTlvHeaderSize - kSslFixedSize;
    ProxyHeader header;
    auto subs = fit_ssl_sub_tlvs(tls, room, header.left_out);
    if (!subs) return std::move(subs).error();
    std::size_t ssl_body_size = kSslFixedSize;
    for (const SslSubTlv& sub : *subs) ssl_body_size += sub.encoded_size();

    std::vector<std::uint8_t>& out = header.bytes;
    out.reserve(sizeof kSignature + 4 + addresses.bytes.size() + kTlvHeaderSize + ssl_body_size);
    out.assign(std::begin(kSignature), std::end(kSignature));
    out.push_back(addresses.family == kUnspecified ? kVersion2Local : kVersion2Proxy);
    out.push_back(addresses.family);
    put_length(out, addresses.bytes.size() + kTlvHeaderSize + ssl_body_size);
    out.insert(out.end(), addresses.bytes.begin(), addresses.bytes.end());
    put_ssl_tlv(out, tls.client_cert_verified, *subs, ssl_body_size);
    return header;
}

}  // namespace ocspgate::proxy
