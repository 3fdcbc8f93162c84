// proxy/ldap/ber.cpp: framing LDAPMessages and reading the fields the StartTLS front uses.
// Every input is hand-built BER, annotated octet by octet.
#include "proxy/ldap/ber.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace ocspgate::proxy::ldap {
namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr std::size_t kLimit = 1024;

// An UnbindRequest: SEQUENCE(5) { INTEGER(1) 7, [APPLICATION 2] NULL }.
const Bytes kUnbind = {0x30, 0x05, 0x02, 0x01, 0x07, 0x42, 0x00};

// A StartTLS ExtendedRequest with messageID 1:
//   30 1d                SEQUENCE, 29 octets
//      02 01 01          messageID 1
//      77 18             [APPLICATION 23] ExtendedRequest, 24 octets
//         80 16 "1.3.6.1.4.1.1466.20037"   requestName [0], 22 octets
const Bytes kStartTls = [] {
    Bytes b = {0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16};
    for (char c : std::string_view("1.3.6.1.4.1.1466.20037")) b.push_back(static_cast<std::uint8_t>(c));
    return b;
}();

TEST(LdapFrame, EmptyInputNeedsMore) { EXPECT_EQ(frame_message({}, kLimit).status, FrameStatus::need_more); }

TEST(LdapFrame, CompleteShortFormMessageHasItsSize) {
    Frame f = frame_message(kUnbind, kLimit);
    EXPECT_EQ(f.status, FrameStatus::complete);
    EXPECT_EQ(f.size, 7u);
}

TEST(LdapFrame, TrailingBytesOfTheNextMessageAreNotCounted) {
    Bytes two = kUnbind;
    two.insert(two.end(), kStartTls.begin(), kStartTls.begin() + 3);
    Frame f = frame_message(two, kLimit);
    EXPECT_EQ(f.status, FrameStatus::complete);
    EXPECT_EQ(f.size, kUnbind.size());
}

TEST(LdapFrame, EveryPrefixOfAMessageNeedsMore) {
    for (std::size_t n = 1; n < kStartTls.size(); ++n)
        EXPECT_EQ(frame_message({kStartTls.data(), n}, kLimit).status, FrameStatus::need_more) << n;
}

TEST(LdapFrame, LongFormLengthIsDecoded) {
    // 30 82 01 00: SEQUENCE with a two-octet long-form length of 256, then 256 content octets.
    Bytes message = {0x30, 0x82, 0x01, 0x00};
    message.resize(4 + 256, 0x00);
    EXPECT_EQ(frame_message({message.data(), 100}, kLimit).status, FrameStatus::need_more);
    Frame f = frame_message(message, kLimit);
    EXPECT_EQ(f.status, FrameStatus::complete);
    EXPECT_EQ(f.size, 260u);
}

TEST(LdapFrame, LongFormLengthWaitsForAllLengthOctets) {
    // 30 83 01: a three-octet length of which one octet has arrived.
    EXPECT_EQ(frame_message(Bytes{0x30, 0x83, 0x01}, kLimit).status, FrameStatus::need_more);
}

TEST(LdapFrame, OversizedMessageIsRefusedFromItsHeaderAlone) {
    // 30 84 7f ff ff ff: SEQUENCE declaring 2 GiB; no content has arrived.
    Frame f = frame_message(Bytes{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff}, kLimit);
    EXPECT_EQ(f.status, FrameStatus::too_large);
    EXPECT_EQ(f.error, "LDAPMessage of 2147483653 bytes exceeds max_message_size (1024)");
}

TEST(LdapFrame, MessageOfExactlyTheLimitIsAccepted) {
    // 30 82 03 fc: header 4 + content 1020 = 1024 octets.
    Bytes message = {0x30, 0x82, 0x03, 0xfc};
    message.resize(1024, 0x00);
    EXPECT_EQ(frame_message(message, kLimit).status, FrameStatus::complete);
}

TEST(LdapFrame, NonSequenceIsMalformed) {
    // 16 03 01 ...: a TLS ClientHello record sent without StartTLS.
    Frame f = frame_message(Bytes{0x16, 0x03, 0x01, 0x02, 0x00}, kLimit);
    EXPECT_EQ(f.status, FrameStatus::malformed);
    EXPECT_EQ(f.error, "LDAPMessage does not start with a SEQUENCE");
}

TEST(LdapFrame, IndefiniteLengthIsMalformed) {
    // 30 80: SEQUENCE with indefinite length, forbidden by RFC 4511 5.1.
    Frame f = frame_message(Bytes{0x30, 0x80, 0x02, 0x01, 0x01}, kLimit);
    EXPECT_EQ(f.status, FrameStatus::malformed);
    EXPECT_EQ(f.error, "indefinite BER length (LDAP allows only definite lengths)");
}

TEST(LdapFrame, FiveOctetLengthIsMalformed) {
    // 30 85 ...: five length octets.
    Frame f = frame_message(Bytes{0x30, 0x85, 0, 0, 0, 0, 1}, kLimit);
    EXPECT_EQ(f.status, FrameStatus::malformed);
    EXPECT_EQ(f.error, "BER length of more than 4 octets");
}

TEST(LdapParse, StartTlsRequestYieldsItsOidAndMessageId) {
    std::string error;
    auto view = parse_message(kStartTls, error);
    ASSERT_TRUE(view) << error;
    EXPECT_EQ(Bytes(view->message_id.begin(), view->message_id.end()), (Bytes{0x02, 0x01, 0x01}));
    EXPECT_EQ(view->operation_tag, 0x77);
    EXPECT_EQ(view->extended_oid, "1.3.6.1.4.1.1466.20037");
}

TEST(LdapParse, SearchRequestYieldsItsTagAndNoOid) {
    // SEQUENCE { INTEGER(2) 0x01 0x00 (messageID 256), [APPLICATION 3] { OCTET STRING "" } }
    const Bytes search = {0x30, 0x08, 0x02, 0x02, 0x01, 0x00, 0x63, 0x02, 0x04, 0x00};
    std::string error;
    auto view = parse_message(search, error);
    ASSERT_TRUE(view) << error;
    EXPECT_EQ(Bytes(view->message_id.begin(), view->message_id.end()), (Bytes{0x02, 0x02, 0x01, 0x00}));
    EXPECT_EQ(view->operation_tag, 0x63);
    EXPECT_EQ(view->extended_oid, "");
}

TEST(LdapParse, NegativeMessageIdIsRefused) {
    // messageID INTEGER 0xff = -1.
    const Bytes message = {0x30, 0x05, 0x02, 0x01, 0xff, 0x42, 0x00};
    std::string error;
    EXPECT_FALSE(parse_message(message, error));
    EXPECT_EQ(error, "messageID is not an INTEGER from 0 to 2147483647");
}

TEST(LdapParse, MessageIdThatIsNotAnIntegerIsRefused) {
    // messageID written as OCTET STRING (04 01 01).
    const Bytes message = {0x30, 0x05, 0x04, 0x01, 0x01, 0x42, 0x00};
    std::string error;
    EXPECT_FALSE(parse_message(message, error));
    EXPECT_EQ(error, "messageID is not an INTEGER from 0 to 2147483647");
}

TEST(LdapParse, InnerElementPastTheEndIsRefused) {
    // SEQUENCE(5) { INTEGER(1) 1, [APPLICATION 3] claiming 9 octets but holding 0 }.
    const Bytes message = {0x30, 0x05, 0x02, 0x01, 0x01, 0x63, 0x09};
    std::string error;
    EXPECT_FALSE(parse_message(message, error));
    EXPECT_EQ(error, "BER element runs past the end of its message");
}

TEST(LdapParse, ExtendedRequestWithoutRequestNameIsRefused) {
    // [APPLICATION 23] holding requestValue [1] only (81 00).
    const Bytes message = {0x30, 0x07, 0x02, 0x01, 0x01, 0x77, 0x02, 0x81, 0x00};
    std::string error;
    EXPECT_FALSE(parse_message(message, error));
    EXPECT_EQ(error, "ExtendedRequest without requestName");
}

TEST(LdapEncode, ShortAndLongFormLengths) {
    Bytes out;
    append_tlv(out, 0x04, Bytes(3, 'a'));
    EXPECT_EQ(out, (Bytes{0x04, 0x03, 'a', 'a', 'a'}));
    out.clear();
    append_tlv(out, 0x04, Bytes(200, 'a'));
    EXPECT_EQ(Bytes(out.begin(), out.begin() + 3), (Bytes{0x04, 0x81, 200}));
    EXPECT_EQ(out.size(), 203u);
    out.clear();
    append_tlv(out, 0x04, Bytes(300, 'a'));
    EXPECT_EQ(Bytes(out.begin(), out.begin() + 4), (Bytes{0x04, 0x82, 0x01, 0x2c}));
}

}  // namespace
}  // namespace ocspgate::proxy::ldap
