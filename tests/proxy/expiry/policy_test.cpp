// The expiry monitor's rules: notification window, urgent phase, repeat frequencies, days left.
#include "proxy/expiry/policy.h"

#include <gtest/gtest.h>

namespace ocspgate::proxy::expiry {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

constexpr hours kDay{24};
const SystemTime kNow = SystemTime{} + hours(24 * 20000);

conf::Expiry settings() {
    conf::Expiry s;
    s.notify_days = 30;
    s.urgent_days = 7;
    s.frequency = hours(24);
    s.urgent_frequency = hours(1);
    return s;
}

TEST(ExpiryPolicy, OutsideTheWindowIsFineAndNeverDue) {
    ExpiryPolicy policy(settings());
    EXPECT_EQ(policy.level(kNow + 31 * kDay, kNow), ExpiryLevel::fine);
    EXPECT_FALSE(policy.due(ExpiryLevel::fine, std::nullopt, kNow));
}

TEST(ExpiryPolicy, LevelsFollowNotifyAndUrgentDays) {
    ExpiryPolicy policy(settings());
    EXPECT_EQ(policy.level(kNow + 30 * kDay, kNow), ExpiryLevel::expiring);
    EXPECT_EQ(policy.level(kNow + 8 * kDay, kNow), ExpiryLevel::expiring);
    EXPECT_EQ(policy.level(kNow + 7 * kDay, kNow), ExpiryLevel::urgent);
    EXPECT_EQ(policy.level(kNow + seconds(1), kNow), ExpiryLevel::urgent);
    EXPECT_EQ(policy.level(kNow, kNow), ExpiryLevel::expired);
}

TEST(ExpiryPolicy, FirstWarningIsDueAtOnce) {
    ExpiryPolicy policy(settings());
    EXPECT_TRUE(policy.due(ExpiryLevel::expiring, std::nullopt, kNow));
}

TEST(ExpiryPolicy, ExpiringRepeatsOncePerFrequency) {
    ExpiryPolicy policy(settings());
    EXPECT_FALSE(policy.due(ExpiryLevel::expiring, kNow - hours(23), kNow));
    EXPECT_TRUE(policy.due(ExpiryLevel::expiring, kNow - hours(24), kNow));
}

TEST(ExpiryPolicy, UrgentAndExpiredRepeatOncePerUrgentFrequency) {
    ExpiryPolicy policy(settings());
    EXPECT_FALSE(policy.due(ExpiryLevel::urgent, kNow - std::chrono::minutes(59), kNow));
    EXPECT_TRUE(policy.due(ExpiryLevel::urgent, kNow - hours(1), kNow));
    EXPECT_TRUE(policy.due(ExpiryLevel::expired, kNow - hours(1), kNow));
}

TEST(ExpiryPolicy, DaysLeftRoundsDownAndGoesNegative) {
    EXPECT_EQ(days_left(kNow + 2 * kDay + hours(23), kNow), 2);
    EXPECT_EQ(days_left(kNow + hours(5), kNow), 0);
    EXPECT_EQ(days_left(kNow - hours(5), kNow), -1);
    EXPECT_EQ(days_left(kNow - kDay, kNow), -1);
    EXPECT_EQ(days_left(kNow - kDay - seconds(1), kNow), -2);
}

TEST(ExpiryPolicy, TimeLeftIsDaysFromTwoDaysOnAndDaysAndHoursBelow) {
    EXPECT_EQ(time_left_text(kNow + 4 * kDay + hours(23), kNow), "4d");
    EXPECT_EQ(time_left_text(kNow + 2 * kDay, kNow), "2d");
    EXPECT_EQ(time_left_text(kNow + 2 * kDay - seconds(1), kNow), "1d 23h");
    EXPECT_EQ(time_left_text(kNow + hours(5) + seconds(59), kNow), "0d 5h");
    EXPECT_EQ(time_left_text(kNow, kNow), "expired 0d 0h ago");
    EXPECT_EQ(time_left_text(kNow - hours(5), kNow), "expired 0d 5h ago");
    EXPECT_EQ(time_left_text(kNow - 12 * kDay - hours(3), kNow), "expired 12d ago");
}

TEST(ExpiryPolicy, TickIsAQuarterOfTheShortestFrequencyWithinBounds) {
    conf::Expiry s = settings();
    EXPECT_EQ(ExpiryPolicy(s).tick(), std::chrono::minutes(1));
    s.urgent_frequency = seconds(2);
    EXPECT_EQ(ExpiryPolicy(s).tick(), std::chrono::milliseconds(500));
    s.urgent_frequency = seconds(1);
    s.frequency = seconds(1);
    EXPECT_EQ(ExpiryPolicy(s).tick(), std::chrono::milliseconds(250));
}

TEST(ExpiryPolicy, FormatsUtc) { EXPECT_EQ(format_utc(SystemTime{} + seconds(86400 + 3661)), "1970-01-02T01:01:01Z"); }

}  // namespace
}  // namespace ocspgate::proxy::expiry
