// [listener.sip]: defaults, values, and the rule that it belongs to protocol = "sip" only.
#include <gtest/gtest.h>

#include "load_fixture.h"

namespace ocspgate::conf::testing {
namespace {

constexpr std::string_view kSipListener = R"([[listener]]
name = "demo"
protocol = "sip"
listen = "127.0.0.1:5061"
backend = "127.0.0.1:5060"
[listener.tls]
certificate = "server.pem"
private_key = "server.key"
client_ca = "ca.pem"
)";

TEST_F(LoadTest, SipSettingsDefault) {
    LoadResult result = load(kSipListener);
    ASSERT_TRUE(result.ok());
    const SipSettings& sip = result.config->listeners.at(0).sip;
    EXPECT_EQ(sip.max_message_size, 64u * 1024);
    EXPECT_EQ(sip.max_headers, 100u);
    EXPECT_TRUE(sip.identity_headers);
    EXPECT_EQ(sip.header_prefix, "X-Client-Cert-");
    EXPECT_EQ(sip.keepalive, SipKeepalive::answer);
    EXPECT_FALSE(sip.answer_unavailable);
    EXPECT_EQ(sip.retry_after, std::chrono::seconds(30));
}

TEST_F(LoadTest, SipSettingsAreRead) {
    LoadResult result = load(std::string(kSipListener) + R"([listener.sip]
max_message_size = 4096
max_headers = 20
identity_headers = false
header_prefix = "P-Cert-"
keepalive = "pass"
answer_unavailable = true
retry_after = "2m"
)");
    ASSERT_TRUE(result.ok());
    const SipSettings& sip = result.config->listeners.at(0).sip;
    EXPECT_EQ(sip.max_message_size, 4096u);
    EXPECT_EQ(sip.max_headers, 20u);
    EXPECT_FALSE(sip.identity_headers);
    EXPECT_EQ(sip.header_prefix, "P-Cert-");
    EXPECT_EQ(sip.keepalive, SipKeepalive::pass);
    EXPECT_TRUE(sip.answer_unavailable);
    EXPECT_EQ(sip.retry_after, std::chrono::minutes(2));
}

TEST_F(LoadTest, SipTableOnTcpListenerIsRejected) {
    LoadResult result = load_with_listener("[listener.sip]\nkeepalive = \"pass\"\n");
    expect_diagnostics(result, {{9, 1, "listener[0].sip: [listener.sip] needs protocol = \"sip\", "
                                       "but protocol is \"tcp\""}});
}

TEST_F(LoadTest, SipHeaderPrefixMustBeAToken) {
    LoadResult result = load(std::string(kSipListener) + "[listener.sip]\nheader_prefix = \"X Cert:\"\n");
    expect_diagnostics(result, {{11, 17, "listener[0].sip.header_prefix: \"X Cert:\" is not a SIP "
                                         "header-name prefix"}});
}

TEST_F(LoadTest, SipUnknownKeepaliveIsRejected) {
    LoadResult result = load(std::string(kSipListener) + "[listener.sip]\nkeepalive = \"drop\"\n");
    expect_diagnostics(result, {{11, 13, "listener[0].sip.keepalive: \"drop\" is not one of "
                                         "\"answer\", \"pass\""}});
}

}  // namespace
}  // namespace ocspgate::conf::testing
