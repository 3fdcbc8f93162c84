// proxy::admin::AdminRequestParser: the admin endpoint's request parsing, without sockets.
#include "proxy/admin/request.h"

#include <gtest/gtest.h>

#include <string_view>

namespace ocspgate::proxy::admin {
namespace {

using Outcome = AdminRequestParser::Outcome;

Outcome feed(AdminRequestParser& parser, std::string_view bytes) {
    return parser.feed({bytes.data(), bytes.size()});
}

TEST(AdminRequestParserTest, CompleteRequestGivesMethodAndPathWithoutQuery) {
    AdminRequestParser parser(1024);
    EXPECT_EQ(feed(parser, "GET /metrics?name=x HTTP/1.1\r\nHost: a\r\n\r\n"), Outcome::complete);
    EXPECT_EQ(parser.method(), "GET");
    EXPECT_EQ(parser.path(), "/metrics");
}

TEST(AdminRequestParserTest, RequestSplitAcrossReadsNeedsMoreUntilItsEnd) {
    AdminRequestParser parser(1024);
    EXPECT_EQ(feed(parser, "POST /rel"), Outcome::need_more);
    EXPECT_EQ(feed(parser, "oad HTTP/1.1\r\nContent-Length: 2\r\n\r\n"), Outcome::need_more);
    EXPECT_EQ(feed(parser, "ok"), Outcome::complete);
    EXPECT_EQ(parser.method(), "POST");
    EXPECT_EQ(parser.path(), "/reload");
}

TEST(AdminRequestParserTest, BytesAfterTheFirstRequestAreIgnored) {
    AdminRequestParser parser(1024);
    EXPECT_EQ(feed(parser, "GET /healthz HTTP/1.1\r\n\r\nGET /status HTTP/1.1\r\n\r\n"), Outcome::complete);
    EXPECT_EQ(parser.path(), "/healthz");
}

TEST(AdminRequestParserTest, ExactlyMaxRequestSizeIsAcceptedOneMoreByteIsTooLarge) {
    const std::string_view request = "GET /healthz HTTP/1.1\r\n\r\n";
    AdminRequestParser fits(request.size());
    EXPECT_EQ(feed(fits, request), Outcome::complete);
    AdminRequestParser over(request.size() - 1);
    EXPECT_EQ(feed(over, request.substr(0, 10)), Outcome::need_more);
    EXPECT_EQ(feed(over, request.substr(10)), Outcome::too_large);
}

TEST(AdminRequestParserTest, NotHttpIsMalformed) {
    AdminRequestParser parser(1024);
    EXPECT_EQ(feed(parser, "\x16\x03\x01\x00\x10 a TLS ClientHello"), Outcome::malformed);
}

}  // namespace
}  // namespace ocspgate::proxy::admin
