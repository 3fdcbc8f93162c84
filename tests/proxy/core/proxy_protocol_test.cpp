#include "proxy/core/proxy_protocol.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ocspgate::proxy {
namespace {

// Sizes from proxy-protocol.txt section 2.2, written out here rather than taken from the code.
constexpr std::size_t kFixedHeader = 16;  // signature (12), version/command, family, length (2)
constexpr std::size_t kIpv4Block = 12;
constexpr std::size_t kIpv6Block = 36;
constexpr std::size_t kTlvHead = 3;
constexpr std::size_t kSslFixed = 5;
constexpr std::size_t kMax = 65535;

const std::string kVersion = "TLSv1.3";
const std::string kCipher = "TLS_AES_256_GCM_SHA384";

// What the test's own parser read. It checks every length against the bytes as it goes: a
// length that overruns or leaves bytes over is a test failure, not a value.
struct Parsed {
    std::uint8_t version_command = 0;
    std::uint8_t family = 0;
    std::size_t declared = 0;  // the header's length field
    std::vector<std::uint8_t> addresses;
    std::uint8_t client_flags = 0;
    std::map<std::uint8_t, std::string> ssl;  // sub-TLV type -> value
};

std::size_t read16(const std::vector<std::uint8_t>& b, std::size_t at) { return (std::size_t{b[at]} << 8) | b[at + 1]; }

// TLVs in b[begin, end): calls `each(type, value_begin, value_end)`; false if a length overruns.
template <class F>
bool walk_tlvs(const std::vector<std::uint8_t>& b, std::size_t begin, std::size_t end, F each) {
    while (begin < end) {
        if (end - begin < kTlvHead) return false;
        std::size_t length = read16(b, begin + 1);
        if (end - begin - kTlvHead < length) return false;
        each(b[begin], begin + kTlvHead, begin + kTlvHead + length);
        begin += kTlvHead + length;
    }
    return true;
}

std::optional<Parsed> parse(const std::vector<std::uint8_t>& b) {
    if (b.size() < kFixedHeader) return std::nullopt;
    Parsed p;
    p.version_command = b[12];
    p.family = b[13];
    p.declared = read16(b, 14);
    if (b.size() != kFixedHeader + p.declared) return std::nullopt;  // exactly the bytes declared
    std::size_t address_size = p.family == 0x11 ? kIpv4Block : p.family == 0x21 ? kIpv6Block : 0;
    if (p.declared < address_size) return std::nullopt;
    p.addresses.assign(b.begin() + kFixedHeader, b.begin() + kFixedHeader + static_cast<std::ptrdiff_t>(address_size));
    bool sub_tlvs_ok = true;
    bool ok = walk_tlvs(b, kFixedHeader + address_size, b.size(), [&](std::uint8_t type, std::size_t from, std::size_t to) {
        if (type != 0x20) return;
        if (to - from < kSslFixed) {
            sub_tlvs_ok = false;
            return;
        }
        p.client_flags = b[from];
        sub_tlvs_ok = walk_tlvs(b, from + kSslFixed, to, [&](std::uint8_t sub, std::size_t vf, std::size_t vt) {
            p.ssl[sub] = std::string(b.begin() + static_cast<std::ptrdiff_t>(vf), b.begin() + static_cast<std::ptrdiff_t>(vt));
        }) && sub_tlvs_ok;
    });
    if (!ok || !sub_tlvs_ok) return std::nullopt;
    return p;
}

sockaddr_in ipv4(const char* address, std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, address, &a.sin_addr);
    return a;
}

sockaddr_in6 ipv6(const char* address, std::uint16_t port) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    inet_pton(AF_INET6, address, &a.sin6_addr);
    return a;
}

ProxyTlsInfo tls_with_cn(std::size_t cn_size, bool with_version_and_cipher = true) {
    ProxyTlsInfo tls;
    tls.client_cert_verified = true;
    tls.common_name = std::string(cn_size, 'c');
    if (with_version_and_cipher) {
        tls.version = kVersion;
        tls.cipher = kCipher;
    }
    return tls;
}

Result<ProxyHeader> over_ipv4(const ProxyTlsInfo& tls) {
    sockaddr_in source = ipv4("192.0.2.10", 40000), destination = ipv4("198.51.100.1", 5061);
    return proxy_v2_header(reinterpret_cast<sockaddr*>(&source), reinterpret_cast<sockaddr*>(&destination), tls);
}

// The largest CN that fits over IPv4 next to kVersion and kCipher: the header's length field
// is then exactly kMax.
constexpr std::size_t kCnFillingIpv4 = kMax - kIpv4Block - kTlvHead - kSslFixed - (kTlvHead + 7) - (kTlvHead + 22) - kTlvHead;

TEST(ProxyProtocol, ShortHeaderIsByteForByteTheSpecLayout) {
    ProxyTlsInfo tls;
    tls.client_cert_verified = true;
    tls.version = "TLSv1.3";
    tls.common_name = "phone-1";
    tls.cipher = "X";
    auto header = over_ipv4(tls);
    ASSERT_TRUE(header);
    const std::vector<std::uint8_t> expected = {
        0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,  // signature
        0x21, 0x11, 0x00, 0x2C,                                                  // v2 PROXY, TCP4, 44
        192, 0, 2, 10, 198, 51, 100, 1, 0x9C, 0x40, 0x13, 0xC5,                  // addresses, ports
        0x20, 0x00, 0x1D, 0x03, 0x00, 0x00, 0x00, 0x00,                          // SSL, 29: TLS + cert, verified
        0x21, 0x00, 0x07, 'T', 'L', 'S', 'v', '1', '.', '3',                     // version
        0x22, 0x00, 0x07, 'p', 'h', 'o', 'n', 'e', '-', '1',                     // CN
        0x23, 0x00, 0x01, 'X',                                                   // cipher
    };
    EXPECT_EQ(header->bytes, expected);
    EXPECT_TRUE(header->left_out.empty());
}

TEST(ProxyProtocol, CnThatJustFitsFillsTheLengthFieldExactly) {
    auto header = over_ipv4(tls_with_cn(kCnFillingIpv4));
    ASSERT_TRUE(header);
    auto parsed = parse(header->bytes);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->declared, kMax);
    EXPECT_EQ(parsed->ssl[0x22].size(), kCnFillingIpv4);
    EXPECT_EQ(parsed->ssl[0x21], kVersion);
    EXPECT_EQ(parsed->ssl[0x23], kCipher);
    EXPECT_TRUE(header->left_out.empty());
}

TEST(ProxyProtocol, TotalOneOverLeavesTheCipherOutAndKeepsTheCn) {
    auto header = over_ipv4(tls_with_cn(kCnFillingIpv4 + 1));
    ASSERT_TRUE(header);
    auto parsed = parse(header->bytes);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->declared, kMax + 1 - (kTlvHead + kCipher.size()));
    EXPECT_EQ(parsed->ssl[0x22].size(), kCnFillingIpv4 + 1);
    EXPECT_EQ(parsed->ssl[0x21], kVersion);
    EXPECT_EQ(parsed->ssl.count(0x23), 0U);
    EXPECT_EQ(header->left_out, std::vector<std::string_view>{"PP2_SUBTYPE_SSL_CIPHER"});
}

TEST(ProxyProtocol, CnThatJustFitsAloneLeavesVersionAndCipherOut) {
    constexpr std::size_t cn = kMax - kIpv4Block - kTlvHead - kSslFixed - kTlvHead;
    auto header = over_ipv4(tls_with_cn(cn));
    ASSERT_TRUE(header);
    auto parsed = parse(header->bytes);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->declared, kMax);
    EXPECT_EQ(parsed->ssl.size(), 1U);
    EXPECT_EQ(parsed->ssl[0x22].size(), cn);
    EXPECT_EQ(header->left_out, (std::vector<std::string_view>{"PP2_SUBTYPE_SSL_VERSION", "PP2_SUBTYPE_SSL_CIPHER"}));
}

TEST(ProxyProtocol, CnOneByteOverTheRoomIsRefused) {
    constexpr std::size_t cn = kMax - kIpv4Block - kTlvHead - kSslFixed - kTlvHead + 1;
    auto header = over_ipv4(tls_with_cn(cn, false));
    ASSERT_FALSE(header);
    EXPECT_EQ(header.error().code, Errc::limit);
    EXPECT_EQ(header.error().message,
              "client certificate CN of 65513 bytes does not fit in the PROXY v2 header (at most 65512)");
}

// The sizes of the original report: 65 535 declared 57 bytes (the length cut to 16 bits).
TEST(ProxyProtocol, CnOf65535Or70000BytesIsRefused) {
    for (std::size_t cn : {std::size_t{65535}, std::size_t{70000}}) {
        auto header = over_ipv4(tls_with_cn(cn));
        ASSERT_FALSE(header) << cn;
        EXPECT_EQ(header.error().code, Errc::limit) << cn;
    }
}

TEST(ProxyProtocol, Ipv6AddressesLeaveLessRoom) {
    constexpr std::size_t cn = kMax - kIpv6Block - kTlvHead - kSslFixed - kTlvHead;
    sockaddr_in6 source = ipv6("2001:db8::10", 40000), destination = ipv6("2001:db8::1", 5061);
    auto fits = proxy_v2_header(reinterpret_cast<sockaddr*>(&source), reinterpret_cast<sockaddr*>(&destination),
                                tls_with_cn(cn, false));
    ASSERT_TRUE(fits);
    auto parsed = parse(fits->bytes);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->family, 0x21);
    EXPECT_EQ(parsed->declared, kMax);
    auto over = proxy_v2_header(reinterpret_cast<sockaddr*>(&source), reinterpret_cast<sockaddr*>(&destination),
                                tls_with_cn(cn + 1, false));
    EXPECT_FALSE(over);
}

TEST(ProxyProtocol, LocalHeaderHasNoAddressesAndTheMostRoom) {
    constexpr std::size_t cn = kMax - kTlvHead - kSslFixed - kTlvHead;
    sockaddr_in source = ipv4("192.0.2.10", 40000);
    sockaddr_in6 destination = ipv6("2001:db8::1", 5061);
    auto header = proxy_v2_header(reinterpret_cast<sockaddr*>(&source), reinterpret_cast<sockaddr*>(&destination),
                                  tls_with_cn(cn, false));
    ASSERT_TRUE(header);
    auto parsed = parse(header->bytes);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->version_command, 0x20);
    EXPECT_EQ(parsed->family, 0x00);
    EXPECT_EQ(parsed->declared, kMax);
}

TEST(ProxyProtocol, OversizedVersionIsLeftOutAndTheRestStays) {
    ProxyTlsInfo tls = tls_with_cn(10);
    tls.version = std::string(70000, 'v');
    auto header = over_ipv4(tls);
    ASSERT_TRUE(header);
    auto parsed = parse(header->bytes);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->ssl.count(0x21), 0U);
    EXPECT_EQ(parsed->ssl[0x22], std::string(10, 'c'));
    EXPECT_EQ(parsed->ssl[0x23], kCipher);
    EXPECT_EQ(header->left_out, std::vector<std::string_view>{"PP2_SUBTYPE_SSL_VERSION"});
}

TEST(ProxyProtocol, NoCertificateMeansNoCnAndNoCertFlag) {
    ProxyTlsInfo tls;
    tls.version = kVersion;
    auto header = over_ipv4(tls);
    ASSERT_TRUE(header);
    auto parsed = parse(header->bytes);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->client_flags, 0x01);
    EXPECT_EQ(parsed->ssl.count(0x22), 0U);
}

}  // namespace
}  // namespace ocspgate::proxy
