// proxy/ldap/front.cpp: the plaintext phase of protocol = "ldap-starttls" — the StartTLS
// answer, confidentialityRequired for everything else, and the Notice of Disconnection.
#include "proxy/ldap/front.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ocspgate::proxy::ldap {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes concat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

// StartTLS ExtendedRequest, messageID 1: 30 1d | 02 01 01 | 77 18 80 16 "1.3.6.1.4.1.1466.20037".
const Bytes kStartTls = concat({0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16}, text("1.3.6.1.4.1.1466.20037"));

// Its answer: 30 24 | 02 01 01 | 78 1f { 0a 01 00 (success), 04 00 (matchedDN ""),
//   04 00 (diagnosticMessage ""), 8a 16 "1.3.6.1.4.1.1466.20037" (responseName [10]) }.
const Bytes kStartTlsSuccess =
    concat({0x30, 0x24, 0x02, 0x01, 0x01, 0x78, 0x1f, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00, 0x8a, 0x16},
           text("1.3.6.1.4.1.1466.20037"));

// An anonymous simple BindRequest, messageID 2:
//   30 0c | 02 01 02 | 60 07 { 02 01 03 (version 3), 04 00 (name ""), 80 00 (simple "") }
const Bytes kBind = {0x30, 0x0c, 0x02, 0x01, 0x02, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00};

// A SearchRequest, messageID 0x0102 (two octets), body abbreviated to a baseObject DN:
//   30 09 | 02 02 01 02 | 63 03 { 04 01 'x' }
const Bytes kSearch = {0x30, 0x09, 0x02, 0x02, 0x01, 0x02, 0x63, 0x03, 0x04, 0x01, 'x'};

// The diagnosticMessage ocspgate writes into confidentialityRequired answers.
const std::string kDiagnostic = "StartTLS is required before this operation";

// LDAPResult with confidentialityRequired (0a 01 0d), empty matchedDN, the diagnostic.
Bytes refusal(const Bytes& message_id, std::uint8_t response_tag) {
    Bytes result = concat({0x0a, 0x01, 0x0d, 0x04, 0x00, 0x04, static_cast<std::uint8_t>(kDiagnostic.size())},
                          text(kDiagnostic));
    Bytes body = concat(message_id, concat({response_tag, static_cast<std::uint8_t>(result.size())}, result));
    return concat({0x30, static_cast<std::uint8_t>(body.size())}, body);
}

struct LdapStartTlsFrontTest : ::testing::Test {
    conf::LdapSettings settings;
    LdapStartTlsFront front{settings};
    FrontOutput out;
};

TEST_F(LdapStartTlsFrontTest, StartsInPlaintext) { EXPECT_TRUE(front.starts_in_plaintext()); }

TEST_F(LdapStartTlsFrontTest, StartTlsIsAnsweredWithSuccessAndStartsTls) {
    EXPECT_EQ(front.on_plaintext(kStartTls, out), kStartTls.size());
    EXPECT_EQ(out.to_client, kStartTlsSuccess);
    EXPECT_TRUE(out.start_tls);
    EXPECT_FALSE(out.close_reason);
    EXPECT_TRUE(out.to_backend.empty());
}

TEST_F(LdapStartTlsFrontTest, StartTlsSplitAcrossReadsIsAnsweredOnce) {
    EXPECT_EQ(front.on_plaintext({kStartTls.data(), 3}, out), 3u);
    EXPECT_TRUE(out.to_client.empty());
    EXPECT_FALSE(out.start_tls);
    std::span<const std::uint8_t> rest{kStartTls.data() + 3, kStartTls.size() - 3};
    EXPECT_EQ(front.on_plaintext(rest, out), rest.size());
    EXPECT_EQ(out.to_client, kStartTlsSuccess);
    EXPECT_TRUE(out.start_tls);
}

TEST_F(LdapStartTlsFrontTest, BytesAfterStartTlsAreLeftForTheHandshake) {
    // 16 03 01: the start of a ClientHello sent right behind the request.
    Bytes data = concat(kStartTls, {0x16, 0x03, 0x01});
    EXPECT_EQ(front.on_plaintext(data, out), kStartTls.size());
    EXPECT_TRUE(out.start_tls);
}

TEST_F(LdapStartTlsFrontTest, BindBeforeStartTlsGetsConfidentialityRequiredBindResponse) {
    EXPECT_EQ(front.on_plaintext(kBind, out), kBind.size());
    EXPECT_EQ(out.to_client, refusal({0x02, 0x01, 0x02}, 0x61));  // BindResponse [APPLICATION 1]
    EXPECT_FALSE(out.start_tls);
    EXPECT_FALSE(out.close_reason);  // the client may still send StartTLS
    EXPECT_TRUE(out.to_backend.empty());
}

TEST_F(LdapStartTlsFrontTest, SearchBeforeStartTlsGetsSearchResultDoneWithTheSameMessageId) {
    front.on_plaintext(kSearch, out);
    EXPECT_EQ(out.to_client, refusal({0x02, 0x02, 0x01, 0x02}, 0x65));  // SearchResultDone [APPLICATION 5]
}

TEST_F(LdapStartTlsFrontTest, StartTlsAfterARefusalStillWorks) {
    front.on_plaintext(concat(kBind, kStartTls), out);
    EXPECT_EQ(out.to_client, concat(refusal({0x02, 0x01, 0x02}, 0x61), kStartTlsSuccess));
    EXPECT_TRUE(out.start_tls);
}

TEST_F(LdapStartTlsFrontTest, UnbindClosesWithoutAnswer) {
    // 30 05 | 02 01 03 | 42 00: UnbindRequest, messageID 3.
    front.on_plaintext(Bytes{0x30, 0x05, 0x02, 0x01, 0x03, 0x42, 0x00}, out);
    EXPECT_TRUE(out.to_client.empty());
    EXPECT_EQ(out.close_reason, "client unbound before StartTLS");
}

TEST_F(LdapStartTlsFrontTest, AbandonIsIgnored) {
    // 30 06 | 02 01 04 | 50 01 02: AbandonRequest of messageID 2.
    front.on_plaintext(Bytes{0x30, 0x06, 0x02, 0x01, 0x04, 0x50, 0x01, 0x02}, out);
    EXPECT_TRUE(out.to_client.empty());
    EXPECT_FALSE(out.close_reason);
}

TEST_F(LdapStartTlsFrontTest, OtherExtendedRequestGetsConfidentialityRequiredExtendedResponse) {
    // Who am I? (1.3.6.1.4.1.4203.1.11.3), messageID 5:
    //   30 1e | 02 01 05 | 77 19 80 17 "1.3.6.1.4.1.4203.1.11.3"
    Bytes whoami = concat({0x30, 0x1e, 0x02, 0x01, 0x05, 0x77, 0x19, 0x80, 0x17}, text("1.3.6.1.4.1.4203.1.11.3"));
    front.on_plaintext(whoami, out);
    EXPECT_EQ(out.to_client, refusal({0x02, 0x01, 0x05}, 0x78));
    EXPECT_FALSE(out.start_tls);
}

// The Notice of Disconnection for `diagnostic`:
//   30 LL | 02 01 00 (messageID 0) | 78 LL { 0a 01 02 (protocolError), 04 00,
//   04 LL diagnostic, 8a 16 "1.3.6.1.4.1.1466.20036" }
Bytes notice(const std::string& diagnostic) {
    Bytes result = concat({0x0a, 0x01, 0x02, 0x04, 0x00, 0x04, static_cast<std::uint8_t>(diagnostic.size())},
                          text(diagnostic));
    result = concat(result, concat({0x8a, 0x16}, text("1.3.6.1.4.1.1466.20036")));
    Bytes body = concat({0x02, 0x01, 0x00, 0x78, static_cast<std::uint8_t>(result.size())}, result);
    return concat({0x30, static_cast<std::uint8_t>(body.size())}, body);
}

TEST_F(LdapStartTlsFrontTest, TlsWithoutStartTlsGetsNoticeOfDisconnection) {
    // 16 03 01 00 05: a TLS record header (an ldaps client on the StartTLS port).
    front.on_plaintext(Bytes{0x16, 0x03, 0x01, 0x00, 0x05}, out);
    EXPECT_EQ(out.to_client, notice("LDAPMessage does not start with a SEQUENCE"));
    EXPECT_EQ(out.close_reason, "LDAP protocol error before StartTLS: LDAPMessage does not start with a SEQUENCE");
}

TEST_F(LdapStartTlsFrontTest, OversizedMessageGetsNoticeOfDisconnection) {
    settings.max_message_size = 64;
    LdapStartTlsFront small{settings};
    // 30 81 80: a SEQUENCE of 128 content octets, above the 64-byte limit.
    small.on_plaintext(Bytes{0x30, 0x81, 0x80}, out);
    EXPECT_EQ(out.to_client, notice("LDAPMessage of 131 bytes exceeds max_message_size (64)"));
    EXPECT_TRUE(out.close_reason);
}

TEST_F(LdapStartTlsFrontTest, UnknownOperationGetsNoticeOfDisconnection) {
    // 30 05 | 02 01 01 | 61 00: a BindResponse sent by a client.
    front.on_plaintext(Bytes{0x30, 0x05, 0x02, 0x01, 0x01, 0x61, 0x00}, out);
    EXPECT_EQ(out.to_client, notice("unknown LDAP operation before StartTLS"));
    EXPECT_TRUE(out.close_reason);
}

TEST_F(LdapStartTlsFrontTest, AfterTlsBytesPassThroughUnchanged) {
    front.on_client_data(kSearch, out);
    EXPECT_EQ(out.to_backend, kSearch);
    FrontOutput back;
    front.on_backend_data(kBind, back);
    EXPECT_EQ(back.to_client, kBind);
}

}  // namespace
}  // namespace ocspgate::proxy::ldap
