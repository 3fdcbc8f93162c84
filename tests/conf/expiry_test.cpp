// [expiry] and [expiry.email]: defaults (monitor on, email off) and the cross-key rules.
#include <gtest/gtest.h>

#include "load_fixture.h"

namespace ocspgate::conf::testing {
namespace {

TEST_F(LoadTest, ExpiryMonitorIsOnWithoutEmailByDefault) {
    LoadResult result = load(minimal_listener);
    ASSERT_TRUE(result.ok());
    const Expiry& expiry = result.config->expiry;
    EXPECT_TRUE(expiry.enabled);
    EXPECT_EQ(expiry.notify_days, 30u);
    EXPECT_EQ(expiry.frequency, std::chrono::hours(24));
    EXPECT_EQ(expiry.urgent_days, 7u);
    EXPECT_EQ(expiry.urgent_frequency, std::chrono::hours(1));
    EXPECT_TRUE(expiry.include_peer_certificates);
    EXPECT_FALSE(expiry.email.enabled);
}

TEST_F(LoadTest, ExpiryTablesFromTheIssueAreRead) {
    LoadResult result = load_with_listener(R"([expiry]
notify_days = 30
frequency = "24h"
urgent_days = 7
urgent_frequency = "1h"
include_peer_certificates = true
[expiry.email]
smtp = "127.0.0.1:25"
from = "ocspgate@example.com"
to = ["pki-admins@example.com", "noc@example.com"]
starttls = false
)");
    ASSERT_TRUE(result.ok());
    const ExpiryEmail& email = result.config->expiry.email;
    EXPECT_TRUE(email.enabled);
    EXPECT_EQ(email.smtp.host, "127.0.0.1");
    EXPECT_EQ(email.smtp.port, 25);
    EXPECT_EQ(email.to, (std::vector<std::string>{"pki-admins@example.com", "noc@example.com"}));
}

TEST_F(LoadTest, ExpirySmtpMayNameAHostOrBracketedIpv6) {
    LoadResult named = load_with_listener("[expiry.email]\nsmtp = \"mail.example.com:587\"\nfrom = \"a@b\"\nto = [\"c@d\"]\n");
    ASSERT_TRUE(named.ok());
    EXPECT_EQ(named.config->expiry.email.smtp.host, "mail.example.com");
    LoadResult v6 = load_with_listener("[expiry.email]\nsmtp = \"[::1]:25\"\nfrom = \"a@b\"\nto = [\"c@d\"]\n");
    ASSERT_TRUE(v6.ok());
    EXPECT_EQ(v6.config->expiry.email.smtp.host, "::1");
}

TEST_F(LoadTest, ExpiryUrgentDaysMustBeBelowNotifyDays) {
    LoadResult result = load_with_listener("[expiry]\nnotify_days = 7\nurgent_days = 7\n");
    expect_diagnostics(result, {{11, 15, "urgent_days (7) must be less than notify_days (7)"}});
}

TEST_F(LoadTest, ExpiryUrgentFrequencyMayNotExceedFrequency) {
    LoadResult result = load_with_listener("[expiry]\nfrequency = \"1h\"\nurgent_frequency = \"2h\"\n");
    expect_diagnostics(result, {{11, 20, "must not be longer than frequency (1h)"}});
}

TEST_F(LoadTest, ExpiryFrequencyBelowOneSecondIsRejected) {
    LoadResult result = load_with_listener("[expiry]\nurgent_frequency = \"500ms\"\n");
    expect_diagnostics(result, {{10, 20, "at least 1s"}});
}

TEST_F(LoadTest, ExpiryEmailNeedsSmtpFromAndRecipients) {
    LoadResult result = load_with_listener("[expiry.email]\nto = []\n");
    expect_diagnostics(result, {{9, 1, "missing required key \"smtp\""},
                                {9, 1, "missing required key \"from\""},
                                {10, 6, "must not be empty"}});
}

TEST_F(LoadTest, ExpiryEmailRejectsABadRelayAndAddresses) {
    LoadResult result = load_with_listener(
        "[expiry.email]\nsmtp = \"127.0.0.1\"\nfrom = \"x\\r\\nRCPT TO:<evil@x>\"\nto = [\"noc@example.com\", \"two@@x\"]\n");
    expect_diagnostics(result, {{10, 8, "is not HOST:PORT"},
                                {11, 8, "is not an email address"},
                                {12, 26, "is not an email address"}});
}

}  // namespace
}  // namespace ocspgate::conf::testing
