// Tests for ocsp/budget: how the time before a handshake's deadline is shared among the
// methods and attempts still to run.
#include "ocsp/budget.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace ocspgate::ocsp {
namespace {

using namespace std::chrono_literals;

TEST(Budget, EveryMethodGetsItsFullTimeoutWhenTheChainFits) {
    std::vector<MethodNeed> needs{{3, 1000ms}, {1, 2000ms}};
    EXPECT_EQ(method_share(10000ms, needs), 3000ms);
}

// The example: three responders at 3 s and a CRL at 5 s within 9.75 s.
TEST(Budget, EveryMethodIsCutInProportionWhenTheChainDoesNotFit) {
    std::vector<MethodNeed> needs{{3, 3000ms}, {1, 5000ms}};
    const Duration ocsp = method_share(9750ms, needs);
    EXPECT_EQ(ocsp, 6267ms);  // 9750 * 9 / 14
    EXPECT_EQ(method_share(9750ms - ocsp, std::vector<MethodNeed>{{1, 5000ms}}), 3483ms);
}

TEST(Budget, TheLastMethodGetsWhatIsLeftUpToItsTimeout) {
    EXPECT_EQ(method_share(700ms, std::vector<MethodNeed>{{1, 5000ms}}), 700ms);
    EXPECT_EQ(method_share(9000ms, std::vector<MethodNeed>{{1, 5000ms}}), 5000ms);
}

TEST(Budget, NothingLeftMeansNoShare) {
    EXPECT_EQ(method_share(0ms, std::vector<MethodNeed>{{1, 5000ms}}), 0ms);
    EXPECT_EQ(method_share(-5ms, std::vector<MethodNeed>{{1, 5000ms}}), 0ms);
    EXPECT_EQ(method_share(100ms, std::vector<MethodNeed>{}), 0ms);
}

TEST(Budget, AMethodThatNeedsNoTimeLeavesItAll) {
    std::vector<MethodNeed> needs{{1, 3000ms}, {0, 0ms}};
    EXPECT_EQ(method_share(1000ms, needs), 1000ms);
}

TEST(Budget, AttemptsShareTheirMethodsTimeEvenlyUpToTheirTimeout) {
    EXPECT_EQ(attempt_share(1200ms, 3, 3000ms), 400ms);
    EXPECT_EQ(attempt_share(9000ms, 2, 3000ms), 3000ms);
    EXPECT_EQ(attempt_share(0ms, 2, 3000ms), 0ms);
    EXPECT_EQ(attempt_share(Duration::max(), 2, 3000ms), 3000ms);  // no deadline
}

TEST(Budget, TheAlertReserveIsATenthOfTheTimeoutAtMost250ms) {
    EXPECT_EQ(alert_reserve(10000ms), 250ms);
    EXPECT_EQ(alert_reserve(1000ms), 100ms);
}

TEST(Budget, ChainNeedCountsTheConfiguredRespondersAndEveryMethod) {
    RevocationProfile profile;
    profile.methods = {RevocationMethod::ocsp, RevocationMethod::crl, RevocationMethod::none};
    profile.ocsp.responders = {"http://a/", "http://b/", "http://c/"};
    profile.ocsp.timeout = 3000ms;
    profile.crl.timeout = 5000ms;
    EXPECT_EQ(chain_need(profile), 14000ms);
    profile.ocsp.responders.clear();  // AIA only: one responder
    EXPECT_EQ(chain_need(profile), 8000ms);
}

TEST(Budget, TimeLeftIsNeverNegativeAndUnboundedWithoutADeadline) {
    const auto now = SteadyClock::now();
    EXPECT_EQ(time_left(now - 1s, now), 0ms);
    EXPECT_EQ(time_left(now + 1500ms, now), 1500ms);
    EXPECT_EQ(time_left(no_deadline, now), Duration::max());
}

}  // namespace
}  // namespace ocspgate::ocsp
