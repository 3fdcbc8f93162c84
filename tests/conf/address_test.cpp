#include "conf/address.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <gtest/gtest.h>

namespace ocspgate::conf {
namespace {

std::string error_of(std::string_view text) {
    Result<Address> address = parse_address(text);
    return address ? std::string("(parsed)") : address.error().message;
}

TEST(ParseAddress, ParsesIpv4AndPort) {
    Result<Address> address = parse_address("127.0.0.1:5061");
    ASSERT_TRUE(address);
    EXPECT_EQ(address->text, "127.0.0.1:5061");
    EXPECT_EQ(address->length, sizeof(sockaddr_in));
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address->storage);
    EXPECT_EQ(v4.sin_family, AF_INET);
    EXPECT_EQ(ntohs(v4.sin_port), 5061);
    EXPECT_EQ(ntohl(v4.sin_addr.s_addr), 0x7f000001u);
}

TEST(ParseAddress, ParsesBracketedIpv6AndPort) {
    Result<Address> address = parse_address("[::1]:5061");
    ASSERT_TRUE(address);
    EXPECT_EQ(address->length, sizeof(sockaddr_in6));
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address->storage);
    EXPECT_EQ(v6.sin6_family, AF_INET6);
    EXPECT_EQ(ntohs(v6.sin6_port), 5061);
    EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&v6.sin6_addr));
}

TEST(ParseAddress, AcceptsTheHighestPort) {
    EXPECT_TRUE(parse_address("0.0.0.0:65535"));
}

TEST(ParseAddress, RejectsHostNames) {
    EXPECT_EQ(error_of("localhost:5061"),
              "\"localhost:5061\" is not a valid address: numeric addresses only here (write e.g. "
              "\"127.0.0.1:5061\" or \"[::1]:5061\")");
}

TEST(ParseBackendAddress, KeepsAHostNameUnresolved) {
    Result<Address> address = parse_backend_address("sip-core.corp.internal:5060");
    ASSERT_TRUE(address) << address.error().message;
    EXPECT_EQ(address->host, "sip-core.corp.internal");
    EXPECT_EQ(address->port, 5060);
    EXPECT_EQ(address->length, 0u);
    EXPECT_EQ(address->text, "sip-core.corp.internal:5060");
}

TEST(ParseBackendAddress, TakesNumericAddressesAsParseAddressDoes) {
    Result<Address> address = parse_backend_address("127.0.0.1:5060");
    ASSERT_TRUE(address);
    EXPECT_TRUE(address->host.empty());
    EXPECT_TRUE(same_endpoint(*address, *parse_address("127.0.0.1:5060")));
}

TEST(ParseBackendAddress, RejectsCharactersNoHostNameHas) {
    Result<Address> address = parse_backend_address("sip core:5060");
    ASSERT_FALSE(address);
    EXPECT_NE(address.error().message.find("is not a host name"), std::string::npos);
    EXPECT_FALSE(parse_backend_address("-x:5060"));
    EXPECT_FALSE(parse_backend_address("1.2.3.256:5060"));  // looks numeric: not taken for a name
}

TEST(ParseAddress, RejectsMalformedIpv4) {
    EXPECT_EQ(error_of("1.2.3.256:5061"),
              "\"1.2.3.256:5061\" is not a valid address: \"1.2.3.256\" is not an IPv4 address");
    EXPECT_NE(error_of("1.2.3:5061").find("is not an IPv4 address"), std::string::npos);
}

TEST(ParseAddress, RejectsPortZero) {
    EXPECT_NE(error_of("127.0.0.1:0").find("the port must be a number from 1 to 65535"),
              std::string::npos);
}

TEST(ParseAddress, RejectsPortAbove65535) {
    EXPECT_NE(error_of("127.0.0.1:65536").find("from 1 to 65535"), std::string::npos);
}

TEST(ParseAddress, RejectsANonNumericPort) {
    EXPECT_NE(error_of("127.0.0.1:sip").find("from 1 to 65535"), std::string::npos);
    EXPECT_NE(error_of("127.0.0.1:+5061").find("from 1 to 65535"), std::string::npos);
}

TEST(ParseAddress, RejectsAMissingPort) {
    EXPECT_NE(error_of("127.0.0.1").find("missing \":PORT\""), std::string::npos);
    EXPECT_NE(error_of("[::1]").find("expected \":PORT\""), std::string::npos);
    EXPECT_NE(error_of("127.0.0.1:").find("from 1 to 65535"), std::string::npos);
}

TEST(ParseAddress, RejectsAMissingHost) {
    EXPECT_NE(error_of(":5061").find("the IP address is missing"), std::string::npos);
}

TEST(ParseAddress, RejectsUnbracketedIpv6) {
    EXPECT_NE(error_of("::1:5061").find("needs brackets"), std::string::npos);
}

TEST(ParseAddress, AcceptsAnIpv6ZoneIdOfAnExistingInterface) {
    Result<Address> address = parse_address("[fe80::1%lo]:5061");
    ASSERT_TRUE(address) << address.error().message;
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address->storage);
    EXPECT_EQ(v6.sin6_scope_id, if_nametoindex("lo"));
    EXPECT_EQ(ntohs(v6.sin6_port), 5061);
    EXPECT_FALSE(same_endpoint(*address, *parse_address("[fe80::1]:5061")));
}

TEST(ParseAddress, RejectsAZoneIdOfNoInterface) {
    EXPECT_NE(error_of("[fe80::1%nosuchif0]:5061").find("with a zone id of an interface of this host"),
              std::string::npos);
}

TEST(SameEndpoint, ComparesAddressAndPortNotText) {
    EXPECT_TRUE(same_endpoint(*parse_address("[::1]:5061"), *parse_address("[0::1]:5061")));
    EXPECT_FALSE(same_endpoint(*parse_address("127.0.0.1:5061"), *parse_address("127.0.0.1:5062")));
    EXPECT_FALSE(same_endpoint(*parse_address("127.0.0.1:5061"), *parse_address("[::1]:5061")));
}

}  // namespace
}  // namespace ocspgate::conf
