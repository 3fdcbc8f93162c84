// libFuzzer target: the PROXY v2 header writer (proxy::proxy_v2_header), whose output the
// backend trusts. The input picks the addresses and the sizes and bytes of the version, CN
// and cipher (up to kMaxValueSize each, often near the 16-bit limit); the harness re-reads
// the header with its own parser and traps on any length that disagrees with the bytes, on a
// field that came out different from what went in, or on a refusal or omission the sizes do
// not justify.
//
// Input layout (missing bytes read as 0):
//   byte 0: bits 0-1 the address pair (IPv4, IPv6, mixed = LOCAL, AF_UNIX = LOCAL),
//           bit 2 client_cert_verified
//   36 bytes: source and destination addresses and ports (as many as the family uses)
//   3 x 3 bytes: the sizes of the version, CN and cipher (take_size)
//   the rest: the values' bytes, repeated to the sizes (or 'x' when there is no rest)

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/core/proxy_protocol.h"

using namespace ocspgate;

namespace {

constexpr std::size_t kMaxValueSize = 200 * 1024;
constexpr std::size_t kLimit = 0xFFFF;  // PROXY v2 length fields are 16 bits (spec 2.2)
constexpr std::uint8_t kSignature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

class Input {
public:
    explicit Input(std::span<const std::uint8_t> data) : data_(data) {}
    std::uint8_t byte() { return at_ < data_.size() ? data_[at_++] : 0; }
    void fill(void* out, std::size_t n) {
        auto* bytes = static_cast<std::uint8_t*>(out);
        for (std::size_t i = 0; i < n; ++i) bytes[i] = byte();
    }
    std::span<const std::uint8_t> rest() const { return data_.subspan(at_ < data_.size() ? at_ : data_.size()); }

private:
    std::span<const std::uint8_t> data_;
    std::size_t at_ = 0;
};

// Three bytes: with the top bit set, a size within 256 of 64 KiB (where every boundary is);
// otherwise the 23 bits left, capped at kMaxValueSize.
std::size_t take_size(Input& in) {
    const std::size_t raw = (std::size_t{in.byte()} << 16) | (std::size_t{in.byte()} << 8) | in.byte();
    if (raw & 0x800000) return kLimit - 256 + (raw & 0x1FF);
    return (raw & 0x7FFFFF) % (kMaxValueSize + 1);
}

std::string make_value(std::size_t size, std::span<const std::uint8_t> pattern, std::size_t offset) {
    std::string value(size, 'x');
    if (!pattern.empty()) {
        for (std::size_t i = 0; i < size; ++i) value[i] = static_cast<char>(pattern[(offset + i) % pattern.size()]);
    }
    return value;
}

struct Endpoints {
    sockaddr_storage source{}, destination{};
    std::uint8_t family = 0x00;             // what the header must say: 0x11, 0x21 or 0x00 (LOCAL)
    std::vector<std::uint8_t> address_block;  // what must follow the 16 fixed bytes
};

Endpoints make_endpoints(std::uint8_t pick, Input& in) {
    Endpoints e;
    std::uint8_t raw[36];
    in.fill(raw, sizeof raw);
    auto* s4 = reinterpret_cast<sockaddr_in*>(&e.source);
    auto* d4 = reinterpret_cast<sockaddr_in*>(&e.destination);
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&e.source);
    auto* d6 = reinterpret_cast<sockaddr_in6*>(&e.destination);
    switch (pick & 3) {
        case 0:  // IPv4: addresses, then ports, as on the wire
            s4->sin_family = d4->sin_family = AF_INET;
            std::memcpy(&s4->sin_addr, raw, 4);
            std::memcpy(&d4->sin_addr, raw + 4, 4);
            std::memcpy(&s4->sin_port, raw + 8, 2);
            std::memcpy(&d4->sin_port, raw + 10, 2);
            e.family = 0x11;
            e.address_block.assign(raw, raw + 12);
            break;
        case 1:
            s6->sin6_family = d6->sin6_family = AF_INET6;
            std::memcpy(&s6->sin6_addr, raw, 16);
            std::memcpy(&d6->sin6_addr, raw + 16, 16);
            std::memcpy(&s6->sin6_port, raw + 32, 2);
            std::memcpy(&d6->sin6_port, raw + 34, 2);
            e.family = 0x21;
            e.address_block.assign(raw, raw + 36);
            break;
        case 2:  // families differ: LOCAL
            s4->sin_family = AF_INET;
            d6->sin6_family = AF_INET6;
            break;
        default:
            reinterpret_cast<sockaddr_un*>(&e.source)->sun_family = AF_UNIX;
            reinterpret_cast<sockaddr_un*>(&e.destination)->sun_family = AF_UNIX;
            break;
    }
    return e;
}

std::size_t read16(std::span<const std::uint8_t> b, std::size_t at) { return (std::size_t{b[at]} << 8) | b[at + 1]; }

struct Tlv {
    std::uint8_t type;
    std::span<const std::uint8_t> value;
};

// TLVs that must tile `b` exactly; traps on a length that runs past the end or stray bytes.
std::vector<Tlv> tlvs_of(std::span<const std::uint8_t> b) {
    std::vector<Tlv> out;
    while (!b.empty()) {
        if (b.size() < 3) __builtin_trap();
        const std::size_t length = read16(b, 1);
        if (b.size() - 3 < length) __builtin_trap();
        out.push_back({b[0], b.subspan(3, length)});
        b = b.subspan(3 + length);
    }
    return out;
}

bool equals(std::span<const std::uint8_t> bytes, const std::string& value) {
    return std::equal(bytes.begin(), bytes.end(), value.begin(), value.end(),
                      [](std::uint8_t b, char c) { return b == static_cast<std::uint8_t>(c); });
}

bool listed(const std::vector<std::string_view>& names, std::string_view name) {
    for (std::string_view n : names) {
        if (n == name) return true;
    }
    return false;
}

// A sub-TLV that went in: present and equal, or absent and named as left out because it could
// not have fitted next to what the header already holds.
void check_sub_tlv(const std::vector<Tlv>& subs, std::uint8_t type, const std::string& value, std::string_view name,
                   const proxy::ProxyHeader& header, std::size_t declared) {
    const Tlv* found = nullptr;
    for (const Tlv& sub : subs) {
        if (sub.type != type) continue;
        if (found != nullptr) __builtin_trap();  // twice
        found = &sub;
    }
    if (value.empty()) {
        if (found != nullptr || listed(header.left_out, name)) __builtin_trap();
        return;
    }
    if (found != nullptr) {
        if (!equals(found->value, value) || listed(header.left_out, name)) __builtin_trap();
        return;
    }
    if (!listed(header.left_out, name) || declared + 3 + value.size() <= kLimit) __builtin_trap();
}

void check_header(const proxy::ProxyHeader& header, const Endpoints& endpoints, const proxy::ProxyTlsInfo& tls) {
    std::span<const std::uint8_t> out(header.bytes);
    if (out.size() < 16 || !std::equal(std::begin(kSignature), std::end(kSignature), out.begin())) __builtin_trap();
    if (out[12] != (endpoints.family == 0x00 ? 0x20 : 0x21) || out[13] != endpoints.family) __builtin_trap();
    const std::size_t declared = read16(out, 14);
    if (out.size() != 16 + declared) __builtin_trap();  // the declared length is exactly what follows
    const std::size_t address_size = endpoints.address_block.size();
    if (declared < address_size) __builtin_trap();
    if (!std::equal(endpoints.address_block.begin(), endpoints.address_block.end(), out.begin() + 16)) __builtin_trap();

    const std::vector<Tlv> tlvs = tlvs_of(out.subspan(16 + address_size));
    if (tlvs.size() != 1 || tlvs[0].type != 0x20 || tlvs[0].value.size() < 5) __builtin_trap();
    const std::span<const std::uint8_t> ssl = tlvs[0].value;
    if (ssl[0] != (tls.client_cert_verified ? 0x03 : 0x01) || (ssl[1] | ssl[2] | ssl[3] | ssl[4]) != 0) __builtin_trap();
    const std::vector<Tlv> subs = tlvs_of(ssl.subspan(5));
    for (const Tlv& sub : subs) {
        if (sub.type < 0x21 || sub.type > 0x23) __builtin_trap();
    }
    // The CN is never left out: its absence would describe another identity.
    if (!tls.common_name.empty() && listed(header.left_out, "PP2_SUBTYPE_SSL_CN")) __builtin_trap();
    check_sub_tlv(subs, 0x21, tls.version, "PP2_SUBTYPE_SSL_VERSION", header, declared);
    check_sub_tlv(subs, 0x22, tls.common_name, "PP2_SUBTYPE_SSL_CN", header, declared);
    check_sub_tlv(subs, 0x23, tls.cipher, "PP2_SUBTYPE_SSL_CIPHER", header, declared);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Input in(std::span<const std::uint8_t>(data, size));
    const std::uint8_t flags = in.byte();
    const Endpoints endpoints = make_endpoints(flags, in);
    const std::size_t version_size = take_size(in), cn_size = take_size(in), cipher_size = take_size(in);
    const std::span<const std::uint8_t> pattern = in.rest();
    proxy::ProxyTlsInfo tls;
    tls.client_cert_verified = (flags & 4) != 0;
    tls.version = make_value(version_size, pattern, 0);
    tls.common_name = make_value(cn_size, pattern, 1);
    tls.cipher = make_value(cipher_size, pattern, 2);

    auto header = proxy::proxy_v2_header(reinterpret_cast<const sockaddr*>(&endpoints.source),
                                         reinterpret_cast<const sockaddr*>(&endpoints.destination), tls);
    // The only refusal: a CN whose sub-TLV cannot fit next to the addresses and the SSL TLV's
    // fixed part (16 + addresses + 3 + 5 + 3 + CN > 16 + 65 535).
    const bool cn_fits = tls.common_name.empty() ||
                         endpoints.address_block.size() + 3 + 5 + 3 + tls.common_name.size() <= kLimit;
    if (header.ok() != cn_fits) __builtin_trap();
    if (!header) {
        if (header.error().code != Errc::limit) __builtin_trap();
        return 0;
    }
    check_header(*header, endpoints, tls);
    return 0;
}
