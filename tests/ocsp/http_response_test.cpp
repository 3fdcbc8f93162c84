// The OCSP/CRL client's HTTP parser on its own (ocsp/http_response.h): what it takes from the
// headers. Framing (Content-Length, chunked, close-delimited, HTTP/1.0) is proven through real
// sockets in http_fetch_test.cpp.
#include "ocsp/http_response.h"

#include <gtest/gtest.h>

#include <string_view>

namespace ocspgate::ocsp {
namespace {

using std::chrono::seconds;

HttpResponse parse(std::string_view text) {
    ResponseParser parser(1024, 1024);
    auto progress = parser.feed({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
    EXPECT_TRUE(progress.ok() && *progress == ResponseParser::Progress::complete) << text;
    return parser.take();
}

TEST(CacheControlMaxAge, MaxAgeIsTheBound) {
    EXPECT_EQ(cache_control_max_age("max-age=300"), seconds(300));
    EXPECT_EQ(cache_control_max_age("public, no-transform, must-revalidate, max-age=120"), seconds(120));
    EXPECT_EQ(cache_control_max_age(" Max-Age = \"60\" "), seconds(60));  // case, spaces, quoted
}

TEST(CacheControlMaxAge, SmallestOfSeveralWins) {
    EXPECT_EQ(cache_control_max_age("max-age=300,max-age=30"), seconds(30));
}

TEST(CacheControlMaxAge, NoCacheNoStoreAndInvalidValuesMeanZero) {
    EXPECT_EQ(cache_control_max_age("no-cache"), seconds(0));
    EXPECT_EQ(cache_control_max_age("max-age=600, no-store"), seconds(0));
    EXPECT_EQ(cache_control_max_age("max-age=-5"), seconds(0));
    EXPECT_EQ(cache_control_max_age("max-age=soon"), seconds(0));
    EXPECT_EQ(cache_control_max_age("max-age"), seconds(0));
}

TEST(CacheControlMaxAge, OtherDirectivesSayNothing) {
    EXPECT_EQ(cache_control_max_age(""), std::nullopt);
    EXPECT_EQ(cache_control_max_age("public, s-maxage=5, must-revalidate"), std::nullopt);
}

TEST(CacheControlMaxAge, HugeValuesSaturateAtAYear) {
    EXPECT_EQ(cache_control_max_age("max-age=99999999999999999999999"), seconds(366LL * 24 * 3600));
}

TEST(ResponseParserCacheControl, HeaderOfTheFinalResponseIsRead) {
    auto r = parse("HTTP/1.1 200 OK\r\ncache-control: max-age=42\r\nContent-Length: 1\r\n\r\nx");
    EXPECT_EQ(r.max_age, seconds(42));
}

TEST(ResponseParserCacheControl, RepeatedHeadersAreOneList) {
    auto r = parse("HTTP/1.1 200 OK\r\nCache-Control: public\r\nCache-Control: max-age=7\r\n"
                   "Content-Length: 1\r\n\r\nx");
    EXPECT_EQ(r.max_age, seconds(7));
}

TEST(ResponseParserCacheControl, AbsentHeaderIsNoBound) {
    EXPECT_EQ(parse("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx").max_age, std::nullopt);
}

TEST(ResponseParserCacheControl, InterimResponsesAndTrailersDoNotCount) {
    auto r = parse("HTTP/1.1 100 Continue\r\nCache-Control: max-age=1\r\n\r\n"
                   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nCache-Control: max-age=90\r\n\r\n"
                   "1\r\nx\r\n0\r\nCache-Control: no-store\r\n\r\n");
    EXPECT_EQ(r.max_age, seconds(90));
}

TEST(ResponseParserValidators, FirstEtagAndLastModifiedAreKeptAsSent) {
    auto r = parse("HTTP/1.1 200 OK\r\nETag: \"v1\"  \r\nLast-Modified: Mon, 07 Dec 2026 10:00:00 GMT\r\n"
                   "etag: \"v2\"\r\nContent-Length: 1\r\n\r\nx");
    EXPECT_EQ(r.etag, "\"v1\"");
    EXPECT_EQ(r.last_modified, "Mon, 07 Dec 2026 10:00:00 GMT");
}

TEST(ResponseParserValidators, AbsentValidatorsAreEmptyAndAnInterimResponseSaysNothing) {
    auto r = parse("HTTP/1.1 100 Continue\r\nETag: \"interim\"\r\n\r\n"
                   "HTTP/1.1 304 Not Modified\r\n\r\n");
    EXPECT_EQ(r.status, 304);
    EXPECT_EQ(r.etag, "");
    EXPECT_EQ(r.last_modified, "");
}

}  // namespace
}  // namespace ocspgate::ocsp
