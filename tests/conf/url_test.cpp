#include "conf/url.h"

#include <gtest/gtest.h>

namespace ocspgate::conf {
namespace {

std::string error_of(std::string_view text) {
    Result<HttpUrl> url = parse_http_url(text);
    return url ? std::string("(parsed)") : url.error().message;
}

TEST(ParseHttpUrl, HttpDefaultsToPort80AndRootPath) {
    Result<HttpUrl> url = parse_http_url("http://ocsp.example.com");
    ASSERT_TRUE(url);
    EXPECT_FALSE(url->https);
    EXPECT_EQ(url->host, "ocsp.example.com");
    EXPECT_EQ(url->port, 80);
    EXPECT_EQ(url->path, "/");
}

TEST(ParseHttpUrl, HttpsDefaultsToPort443) {
    Result<HttpUrl> url = parse_http_url("https://ocsp.example.com/ca2");
    ASSERT_TRUE(url);
    EXPECT_TRUE(url->https);
    EXPECT_EQ(url->port, 443);
    EXPECT_EQ(url->path, "/ca2");
}

TEST(ParseHttpUrl, ReadsAnExplicitPort) {
    Result<HttpUrl> url = parse_http_url("http://127.0.0.1:8888/ocsp/v1");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->host, "127.0.0.1");
    EXPECT_EQ(url->port, 8888);
    EXPECT_EQ(url->path, "/ocsp/v1");
}

TEST(ParseHttpUrl, StripsIpv6Brackets) {
    Result<HttpUrl> url = parse_http_url("http://[::1]:8888");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->host, "::1");
    EXPECT_EQ(url->port, 8888);
}

TEST(ParseHttpUrl, SchemeIsCaseInsensitive) {
    EXPECT_TRUE(parse_http_url("HTTP://example.com/"));
}

TEST(ParseHttpUrl, RejectsOtherSchemes) {
    EXPECT_EQ(error_of("ldap://example.com"),
              "\"ldap://example.com\" is not a valid http:// or https:// URL: scheme \"ldap\" is "
              "not supported");
}

TEST(ParseHttpUrl, RejectsTextWithoutScheme) {
    EXPECT_NE(error_of("example.com:80").find("does not start with http:// or https://"),
              std::string::npos);
}

TEST(ParseHttpUrl, RejectsUserInfo) {
    EXPECT_NE(error_of("http://user:pw@example.com/").find("user information"), std::string::npos);
}

TEST(ParseHttpUrl, KeepsTheQueryInThePath) {
    Result<HttpUrl> url = parse_http_url("http://example.com:8080?ca=2");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->port, 8080);
    EXPECT_EQ(url->path, "/?ca=2");
}

TEST(ParseHttpUrl, RejectsAFragment) {
    EXPECT_NE(error_of("http://example.com/ocsp#x").find("fragment"), std::string::npos);
}

TEST(ParseHttpUrl, RejectsAnEmptyHost) {
    EXPECT_NE(error_of("http:///ocsp").find("the host is missing"), std::string::npos);
    EXPECT_NE(error_of("http://:80/").find("the host is missing"), std::string::npos);
}

TEST(ParseHttpUrl, RejectsBadPorts) {
    EXPECT_NE(error_of("http://example.com:0/").find("from 1 to 65535"), std::string::npos);
    EXPECT_NE(error_of("http://example.com:65536/").find("from 1 to 65535"), std::string::npos);
    EXPECT_NE(error_of("http://example.com:/").find("from 1 to 65535"), std::string::npos);
    EXPECT_NE(error_of("http://example.com:http/").find("from 1 to 65535"), std::string::npos);
}

TEST(ParseHttpUrl, RejectsSpacesAndControlCharacters) {
    EXPECT_NE(error_of("http://example.com/a b").find("space or control"), std::string::npos);
    EXPECT_NE(error_of("http://example.com/\r\n").find("space or control"), std::string::npos);
}

TEST(ParseHttpUrl, RejectsUnbracketedIpv6) {
    EXPECT_NE(error_of("http://::1:8888/").find("needs brackets"), std::string::npos);
}

TEST(ParseHttpUrl, RejectsBadCharactersInTheHost) {
    EXPECT_NE(error_of("http://exa%mple.com/").find("is not a host name or address"),
              std::string::npos);
}

}  // namespace
}  // namespace ocspgate::conf
