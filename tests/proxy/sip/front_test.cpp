#include "proxy/sip/front.h"

#include <gtest/gtest.h>

#include <string>

#include "sip/test_messages.h"

namespace ocspgate::proxy::sip {
namespace {

using test::bytes;
using test::text;

class SipFrontTest : public ::testing::Test {
protected:
    FrontOutput send(std::string_view data) {
        FrontOutput out;
        front.on_client_data(bytes(data), out);
        return out;
    }
    void connect(PeerIdentity peer = {"CN=phone-1", "CN=ca", "01", "ff", "good", "cache"}) {
        front.on_handshake_done(peer);
    }

    conf::SipSettings settings;
    SipFront front{settings};
};

TEST_F(SipFrontTest, RequestsGetIdentityHeaders) {
    connect();
    FrontOutput out = send(test::kRegister);
    std::string forwarded = text(out.to_backend);
    EXPECT_NE(forwarded.find("\r\nX-Client-Cert-Subject: CN=phone-1\r\n"), std::string::npos);
    EXPECT_NE(forwarded.find("\r\nX-Client-Cert-Revocation: good;cache\r\n\r\n"), std::string::npos);
    EXPECT_TRUE(out.to_client.empty());
    EXPECT_FALSE(out.close_reason);
}

// kOk with identity headers the phone made up, in the forms a forgery could take.
std::string forged_ok() {
    std::string forged = test::kOk;
    forged.insert(forged.find("Content-Length:"),
                  "X-Client-Cert-Subject: CN=forged\r\n"
                  "x-client-cert-revocation: good;cache\r\n"
                  "X-Client-Cert-Fingerprint: folded\r\n"
                  "\tcontinuation of the forgery\r\n");
    return forged;
}

TEST_F(SipFrontTest, ResponsesWithoutForgeriesPassUnchanged) {
    connect();
    EXPECT_EQ(text(send(test::kOk).to_backend), test::kOk);
}

// A phone answering a server-initiated request (a 200 OK to an INVITE or BYE) is a client too:
// its forgeries are removed, and no identity headers are added (see SipFront::forward_message).
TEST_F(SipFrontTest, ResponsesLoseForgedHeadersAndGetNoneAdded) {
    connect();
    FrontOutput out = send(forged_ok());
    EXPECT_EQ(text(out.to_backend), test::kOk);
    EXPECT_TRUE(out.to_client.empty());
    EXPECT_FALSE(out.close_reason);
}

TEST_F(SipFrontTest, DisabledIdentityHeadersStillStripForgeriesFromResponses) {
    settings.identity_headers = false;
    connect();
    EXPECT_EQ(text(send(forged_ok()).to_backend), test::kOk);
}

TEST_F(SipFrontTest, ResponseForgeriesAreStrippedWhenSplitAcrossReads) {
    connect();
    std::string forged = forged_ok();
    std::string forwarded;
    for (std::size_t at = 0; at < forged.size(); at += 7) {
        forwarded += text(send(std::string_view(forged).substr(at, 7)).to_backend);
    }
    EXPECT_EQ(forwarded, test::kOk);
}

TEST_F(SipFrontTest, DisabledIdentityHeadersStillStripForgeries) {
    settings.identity_headers = false;
    connect();
    std::string forged = test::kRegister;
    forged.insert(forged.find("Contact:"), "X-Client-Cert-Subject: CN=forged\r\n");
    EXPECT_EQ(text(send(forged).to_backend), test::kRegister);
}

TEST_F(SipFrontTest, CustomPrefixNamesTheHeaders) {
    settings.header_prefix = "P-Cert-";
    connect();
    std::string forwarded = text(send(test::kRegister).to_backend);
    EXPECT_NE(forwarded.find("\r\nP-Cert-Subject: CN=phone-1\r\n"), std::string::npos);
    EXPECT_EQ(forwarded.find("X-Client-Cert-"), std::string::npos);
}

TEST_F(SipFrontTest, PingIsAnsweredWithPong) {
    connect();
    FrontOutput out = send("\r\n\r\n");
    EXPECT_EQ(text(out.to_client), "\r\n");
    EXPECT_TRUE(out.to_backend.empty());
}

TEST_F(SipFrontTest, PingIsPassedWhenConfigured) {
    settings.keepalive = conf::SipKeepalive::pass;
    connect();
    FrontOutput out = send("\r\n\r\n");
    EXPECT_TRUE(out.to_client.empty());
    EXPECT_EQ(text(out.to_backend), "\r\n\r\n");
}

TEST_F(SipFrontTest, BackendBytesPassUnchanged) {
    connect();
    FrontOutput out;
    front.on_backend_data(bytes("anything \r\n\r\n at all"), out);
    EXPECT_EQ(text(out.to_client), "anything \r\n\r\n at all");
    EXPECT_TRUE(out.to_backend.empty());
}

TEST_F(SipFrontTest, MalformedRequestIsAnswered400AndClosed) {
    connect();
    std::string no_length = test::kRegister;
    no_length.erase(no_length.find("Content-Length: 0\r\n"), 19);
    FrontOutput out = send(test::kOk + no_length);
    EXPECT_EQ(text(out.to_backend), test::kOk);  // what came before the bad message still goes
    EXPECT_EQ(text(out.to_client),
              "SIP/2.0 400 Bad Request\r\n"
              "Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK-1\r\n"
              "From: <sip:alice@example.com>;tag=a1\r\n"
              "To: <sip:alice@example.com>;tag=ocspgate\r\n"
              "Call-ID: reg-1@192.0.2.10\r\n"
              "CSeq: 1 REGISTER\r\n"
              "Warning: 399 ocspgate \"missing Content-Length (mandatory over TLS)\"\r\n"
              "Content-Length: 0\r\n"
              "\r\n");
    EXPECT_EQ(out.close_reason, "sip: missing Content-Length (mandatory over TLS)");
}

TEST_F(SipFrontTest, CompactHeadersAreCopiedIntoTheAnswerUnderFullNames) {
    connect();
    settings.max_message_size = 100;  // read by the framer at construction: use a new front
    SipFront small{settings};
    small.on_handshake_done({});
    FrontOutput out;
    small.on_client_data(bytes(test::kInvite), out);
    std::string answer = text(out.to_client);
    EXPECT_TRUE(answer.starts_with("SIP/2.0 513 Message Too Large\r\n")) << answer;
    EXPECT_NE(answer.find("\r\nVia: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK-2\r\n"), std::string::npos);
    EXPECT_NE(answer.find("\r\nCall-ID: call-2@192.0.2.10\r\n"), std::string::npos);
    EXPECT_TRUE(out.to_backend.empty());
    EXPECT_TRUE(out.close_reason);
}

TEST_F(SipFrontTest, GarbageIsClosedWithoutAnswer) {
    connect();
    FrontOutput out = send("\x16\x03\x01 not sip\r\n");
    EXPECT_TRUE(out.to_client.empty());
    EXPECT_TRUE(out.to_backend.empty());
    EXPECT_EQ(out.close_reason, "sip: malformed start line");
}

TEST_F(SipFrontTest, RefusedResponseIsClosedWithoutAnswer) {
    connect();
    FrontOutput out = send("SIP/2.0 200 OK\r\nCSeq: 1 BYE\r\n\r\n");
    EXPECT_TRUE(out.to_client.empty());
    EXPECT_TRUE(out.close_reason);
}

TEST_F(SipFrontTest, RefusedAckIsNotAnswered) {
    connect();
    FrontOutput out = send("ACK sip:b@example.com SIP/2.0\r\nCSeq: 1 ACK\r\n\r\n");
    EXPECT_TRUE(out.to_client.empty());
    EXPECT_TRUE(out.close_reason);
}

}  // namespace
}  // namespace ocspgate::proxy::sip
