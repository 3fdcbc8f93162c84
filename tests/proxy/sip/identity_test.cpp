#include "proxy/sip/identity.h"

#include <gtest/gtest.h>

#include <string>

#include "proxy/sip/framer.h"
#include "sip/test_messages.h"

namespace ocspgate::proxy::sip {
namespace {

constexpr std::string_view kPrefix = "X-Client-Cert-";

SipMessage framed(const std::string& text) {
    SipFramer framer(64 * 1024, 100);
    framer.feed(test::bytes(text));
    auto frame = framer.next();
    EXPECT_TRUE(frame && frame->kind == SipFrame::Kind::message) << text;
    return frame ? frame->message : SipMessage{};
}

PeerIdentity phone() {
    return {"CN=phone-1,O=Example", "CN=Issuing CA,O=Example", "1A2B", "ab12", "good", "cache"};
}

TEST(SipIdentity, BlockHasOneLinePerField) {
    EXPECT_EQ(identity_header_block(phone(), kPrefix),
              "X-Client-Cert-Subject: CN=phone-1,O=Example\r\n"
              "X-Client-Cert-Issuer: CN=Issuing CA,O=Example\r\n"
              "X-Client-Cert-Serial: 1A2B\r\n"
              "X-Client-Cert-Fingerprint: ab12\r\n"
              "X-Client-Cert-Revocation: good;cache\r\n");
}

TEST(SipIdentity, EmptyFieldsAreLeftOut) {
    PeerIdentity none;
    EXPECT_EQ(identity_header_block(none, kPrefix), "");
    PeerIdentity unchecked = phone();
    unchecked.revocation.clear();
    unchecked.revocation_source.clear();
    EXPECT_EQ(identity_header_block(unchecked, kPrefix).find("Revocation"), std::string::npos);
}

TEST(SipIdentity, ControlCharactersCannotEndTheHeader) {
    PeerIdentity evil = phone();
    evil.subject = "CN=a\r\nVia: forged";
    EXPECT_EQ(identity_header_block(evil, "P-").substr(0, 32), "P-Subject: CN=a??Via: forged\r\nP-");
}

TEST(SipIdentity, HeadersGoAfterTheLastHeaderAndTheBodyIsUntouched) {
    SipMessage invite = framed(test::kInvite);
    std::string out = rewrite_message(invite, kPrefix, "X-Client-Cert-Subject: CN=p\r\n");
    std::string expected = test::kInvite;
    expected.insert(invite.head_size - 2, "X-Client-Cert-Subject: CN=p\r\n");
    EXPECT_EQ(out, expected);
    // Content-Length still counts the body, which is what follows the empty line.
    SipMessage again = framed(out);
    EXPECT_EQ(again.bytes.substr(again.head_size), test::kInviteBody);
}

TEST(SipIdentity, ForgedHeadersAreRemovedWhateverTheirCase) {
    std::string forged = test::kRegister;
    forged.insert(forged.find("Contact:"),
                  "X-Client-Cert-Subject: CN=forged\r\n"
                  "x-client-cert-serial: 00\r\n"
                  "X-CLIENT-CERT-REVOCATION : good;cache\r\n"
                  "X-Client-Cert-Fingerprint: folded\r\n"
                  "  continuation of the forgery\r\n");
    std::string out = rewrite_message(framed(forged), kPrefix, "X-Client-Cert-Subject: CN=real\r\n");
    std::string expected = test::kRegister;
    expected.insert(expected.size() - 2, "X-Client-Cert-Subject: CN=real\r\n");
    EXPECT_EQ(out, expected);
}

TEST(SipIdentity, ForgedHeadersAreRemovedFromResponsesToo) {
    std::string forged = test::kOk;
    forged.insert(forged.find("CSeq:"), "X-Client-Cert-Serial: 00\r\n");
    forged.insert(forged.find("Content-Length:"), "X-CLIENT-CERT-SUBJECT: CN=forged\r\n");
    EXPECT_EQ(rewrite_message(framed(forged), kPrefix, ""), test::kOk);
}

TEST(SipIdentity, OtherHeadersKeepTheirFolding) {
    const std::string folded =
        "OPTIONS sip:example.com SIP/2.0\r\n"
        "Subject: first\r\n"
        " second\r\n"
        "l: 0\r\n"
        "\r\n";
    std::string out = rewrite_message(framed(folded), kPrefix, "");
    EXPECT_EQ(out, folded);
}

}  // namespace
}  // namespace ocspgate::proxy::sip
