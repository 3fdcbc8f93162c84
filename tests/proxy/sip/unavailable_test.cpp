// SipFront with answer_unavailable (proxy/sip/front.cpp, answer.cpp): once the backend failed,
// requests queued for it and those that follow are answered 503 with Retry-After, ACKs and
// responses never, and nothing goes to the backend.
#include <gtest/gtest.h>

#include <string>

#include "proxy/sip/front.h"
#include "sip/test_messages.h"

namespace ocspgate::proxy::sip {
namespace {

using test::bytes;
using test::text;

const std::string kAck =
    "ACK sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK-4\r\n"
    "From: <sip:alice@example.com>;tag=a4\r\n"
    "To: <sip:bob@example.com>;tag=b4\r\n"
    "Call-ID: call-4@192.0.2.10\r\n"
    "CSeq: 1 ACK\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

struct SipUnavailableTest : ::testing::Test {
    SipUnavailableTest() {
        settings.answer_unavailable = true;
        settings.retry_after = std::chrono::seconds(45);
    }
    conf::SipSettings settings;
    SipFront front{settings};
};

TEST_F(SipUnavailableTest, QueuedRequestIsAnswered503WithRetryAfterAndCopiedHeaders) {
    front.on_handshake_done({"CN=phone-1", "CN=ca", "01", "ff", "good", "cache"});
    FrontOutput forwarded;
    front.on_client_data(bytes(test::kRegister), forwarded);  // the identity headers are added
    FrontOutput out;
    ASSERT_TRUE(front.on_backend_failed(forwarded.to_backend, out));
    std::string answer = text(out.to_client);
    EXPECT_EQ(answer.rfind("SIP/2.0 503 Service Unavailable\r\n", 0), 0u) << answer;
    EXPECT_NE(answer.find("\r\nVia: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK-1\r\n"), std::string::npos) << answer;
    EXPECT_NE(answer.find("\r\nTo: <sip:alice@example.com>;tag=ocspgate\r\n"), std::string::npos) << answer;
    EXPECT_NE(answer.find("\r\nCall-ID: reg-1@192.0.2.10\r\nCSeq: 1 REGISTER\r\n"), std::string::npos) << answer;
    EXPECT_NE(answer.find("\r\nRetry-After: 45\r\n"), std::string::npos) << answer;
    EXPECT_EQ(answer.find("X-Client-Cert"), std::string::npos) << answer;
    EXPECT_TRUE(out.to_backend.empty());
    EXPECT_FALSE(out.close_reason);
}

TEST_F(SipUnavailableTest, LaterRequestsAreAnsweredAndAcksAndResponsesAreNot) {
    FrontOutput first;
    ASSERT_TRUE(front.on_backend_failed({}, first));
    EXPECT_TRUE(first.to_client.empty());
    FrontOutput out;
    front.on_client_data(bytes(kAck + test::kOk + test::kInvite), out);
    std::string answers = text(out.to_client);
    EXPECT_EQ(answers.find("SIP/2.0 503"), 0u) << answers;
    EXPECT_EQ(answers.find("SIP/2.0 503", 1), std::string::npos) << answers;  // one answer: the INVITE's
    EXPECT_NE(answers.find("CSeq: 1 INVITE"), std::string::npos) << answers;
    EXPECT_TRUE(out.to_backend.empty());
}

TEST_F(SipUnavailableTest, ConnectionClosesAfterTheMostAnswers) {
    FrontOutput ignored;
    ASSERT_TRUE(front.on_backend_failed({}, ignored));
    std::string many;
    for (std::size_t i = 0; i < SipFront::kMaxUnavailableAnswers + 3; ++i) many += test::kRegister;
    FrontOutput out;
    front.on_client_data(bytes(many), out);
    ASSERT_TRUE(out.close_reason);
    std::string answers = text(out.to_client);
    std::size_t count = 0;
    for (std::size_t at = answers.find("SIP/2.0 503"); at != std::string::npos; at = answers.find("SIP/2.0 503", at + 1))
        ++count;
    EXPECT_EQ(count, SipFront::kMaxUnavailableAnswers);
}

TEST(SipUnavailableOff, FrontDoesNotTakeOverByDefault) {
    conf::SipSettings settings;
    SipFront front{settings};
    FrontOutput out;
    EXPECT_FALSE(front.on_backend_failed({}, out));
}

}  // namespace
}  // namespace ocspgate::proxy::sip
