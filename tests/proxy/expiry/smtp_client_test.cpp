// The SMTP DATA payload: CRLF line ends and dot-stuffing (RFC 5321 4.5.2). The dialogue itself
// is tested against a real SMTP server in tests/integration/test_expiry.py.
#include "proxy/expiry/smtp_client.h"

#include <gtest/gtest.h>

namespace ocspgate::proxy::expiry {
namespace {

TEST(SmtpDataPayload, BareLineFeedsBecomeCrlfAndTheEndMarkerFollows) {
    EXPECT_EQ(smtp_data_payload("Subject: x\n\nbody\n"), "Subject: x\r\n\r\nbody\r\n.\r\n");
}

TEST(SmtpDataPayload, CrlfIsKeptAsIs) { EXPECT_EQ(smtp_data_payload("a\r\nb\r\n"), "a\r\nb\r\n.\r\n"); }

TEST(SmtpDataPayload, ALastLineWithoutNewlineIsTerminated) { EXPECT_EQ(smtp_data_payload("a"), "a\r\n.\r\n"); }

TEST(SmtpDataPayload, LeadingDotsAreDoubled) {
    EXPECT_EQ(smtp_data_payload(".\n..x\na.b\n"), "..\r\n...x\r\na.b\r\n.\r\n");
}

TEST(SmtpDataPayload, ALoneCarriageReturnIsALineEndNotASmuggledDot) {
    // "\r.\r\n" must not become a bare "." line that would end the message early.
    EXPECT_EQ(smtp_data_payload("a\r.\r\nb"), "a\r\n..\r\nb\r\n.\r\n");
}

}  // namespace
}  // namespace ocspgate::proxy::expiry
