#include "ocsp/url.h"

#include <gtest/gtest.h>

namespace ocspgate::ocsp {
namespace {

Url parsed(std::string_view text) {
    auto url = parse_url(text);
    EXPECT_TRUE(url.ok()) << text << ": " << url.error().message;
    return url.ok() ? std::move(url).value() : Url{};
}

void expect_rejected(std::string_view text) {
    auto url = parse_url(text);
    ASSERT_FALSE(url.ok()) << text << " was accepted";
    EXPECT_EQ(url.error().code, Errc::invalid_argument) << text;
}

TEST(Url, HttpDefaultsToPort80) {
    const auto url = parsed("http://ocsp.example.com/");
    EXPECT_EQ(url.scheme, "http");
    EXPECT_EQ(url.host, "ocsp.example.com");
    EXPECT_EQ(url.port, 80);
    EXPECT_EQ(url.path, "/");
    EXPECT_EQ(url.text, "http://ocsp.example.com/");
}

TEST(Url, HttpsDefaultsToPort443) { EXPECT_EQ(parsed("https://ocsp.example.com/x").port, 443); }

TEST(Url, KeepsExplicitPortPathAndQuery) {
    const auto url = parsed("http://ocsp.example.com:8080/ca1/ocsp?x=1&y=%2F");
    EXPECT_EQ(url.port, 8080);
    EXPECT_EQ(url.path, "/ca1/ocsp?x=1&y=%2F");
}

TEST(Url, EmptyPathBecomesSlash) { EXPECT_EQ(parsed("http://ocsp.example.com").path, "/"); }

TEST(Url, QueryWithoutPathGetsSlash) { EXPECT_EQ(parsed("http://ocsp.example.com?q").path, "/?q"); }

TEST(Url, DropsTheFragment) {
    EXPECT_EQ(parsed("http://ocsp.example.com/a?b#frag").path, "/a?b");
    EXPECT_EQ(parsed("http://ocsp.example.com#frag").path, "/");
}

TEST(Url, LowercasesSchemeAndHostButNotPath) {
    const auto url = parsed("HTTP://OCSP.Example.COM/Path");
    EXPECT_EQ(url.scheme, "http");
    EXPECT_EQ(url.host, "ocsp.example.com");
    EXPECT_EQ(url.path, "/Path");
    EXPECT_EQ(url.text, "HTTP://OCSP.Example.COM/Path");
}

TEST(Url, AcceptsIpv4Literal) {
    const auto url = parsed("http://127.0.0.1:2560/");
    EXPECT_EQ(url.host, "127.0.0.1");
    EXPECT_EQ(url.port, 2560);
}

TEST(Url, AcceptsBracketedIpv6AndStripsBrackets) {
    const auto url = parsed("http://[2001:DB8::1]:8080/ocsp");
    EXPECT_EQ(url.host, "2001:db8::1");
    EXPECT_EQ(url.port, 8080);
    EXPECT_TRUE(is_ipv6_literal(url));
    EXPECT_EQ(parsed("http://[::1]").port, 80);
}

TEST(Url, HostHeaderOmitsDefaultPort) {
    EXPECT_EQ(host_header(parsed("http://ocsp.example.com:80/")), "ocsp.example.com");
    EXPECT_EQ(host_header(parsed("https://ocsp.example.com/")), "ocsp.example.com");
    EXPECT_EQ(host_header(parsed("https://ocsp.example.com:80/")), "ocsp.example.com:80");
}

TEST(Url, HostHeaderBracketsIpv6) {
    EXPECT_EQ(host_header(parsed("http://[::1]:8080/")), "[::1]:8080");
    EXPECT_EQ(host_header(parsed("http://[::1]/")), "[::1]");
}

TEST(Url, RejectsUserinfo) {
    expect_rejected("http://user@ocsp.example.com/");
    expect_rejected("http://user:pass@ocsp.example.com/");
}

TEST(Url, RejectsOtherSchemes) {
    expect_rejected("ldap://ldap.example.com/cn=CA");
    expect_rejected("ftp://ocsp.example.com/");
    expect_rejected("httpx://ocsp.example.com/");
}

TEST(Url, RejectsRelativeOrSchemelessUrls) {
    expect_rejected("/ocsp");
    expect_rejected("ocsp.example.com");
    expect_rejected("http:/ocsp.example.com");
    expect_rejected("");
}

TEST(Url, RejectsMissingHost) {
    expect_rejected("http:///path");
    expect_rejected("http://:8080/");
    expect_rejected("http://");
}

TEST(Url, RejectsBadPorts) {
    expect_rejected("http://ocsp.example.com:0/");      // port 0 is not a destination
    expect_rejected("http://ocsp.example.com:65536/");  // above 16 bits
    expect_rejected("http://ocsp.example.com:/");       // empty
    expect_rejected("http://ocsp.example.com:8o/");     // not a number
    expect_rejected("http://ocsp.example.com:-1/");
    expect_rejected("http://ocsp.example.com:000080/");  // more digits than a port has
}

TEST(Url, RejectsMalformedIpv6) {
    expect_rejected("http://[::1/");              // unclosed bracket
    expect_rejected("http://[::1]x/");            // garbage after the bracket
    expect_rejected("http://[not-v6]/");          // not an address
    expect_rejected("http://[fe80::1%25eth0]/");  // zone ids are not for responders
    expect_rejected("http://::1/");               // IPv6 without brackets
}

TEST(Url, RejectsGarbageHostNames) {
    expect_rejected("http://ocsp example.com/");
    expect_rejected("http://ocsp!.example.com/");
    expect_rejected("http://ocsp%2eexample.com/");
}

TEST(Url, RejectsBytesThatCouldInjectIntoTheRequest) {
    expect_rejected("http://ocsp.example.com/a b");                         // space ends the target
    expect_rejected("http://ocsp.example.com/a\r\nX-Injected: 1");          // header injection
    expect_rejected(std::string_view("http://ocsp.example.com/a\0b", 27));  // NUL
    expect_rejected("http://ocsp.example.com/\xc3\xa9");                    // non-ASCII
}

TEST(Url, ErrorNamesTheUrlAndTheReason) {
    auto url = parse_url("ldap://127.0.0.1:389");
    ASSERT_FALSE(url.ok());
    EXPECT_EQ(url.error().message,
              "\"ldap://127.0.0.1:389\" is not a valid http:// or https:// URL: scheme \"ldap\" is not supported");
}

TEST(Url, ErrorMessageDoesNotEchoControlCharacters) {
    auto url = parse_url("http://x/\r\nInjected");
    ASSERT_FALSE(url.ok());
    EXPECT_EQ(url.error().message.find('\r'), std::string::npos);
    EXPECT_EQ(url.error().message.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace ocspgate::ocsp
