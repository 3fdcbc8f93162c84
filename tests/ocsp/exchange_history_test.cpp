// Tests for ocsp/exchange_history: health over a window of recent exchanges (#26 point 3).
// Times are passed in, so nothing sleeps.
#include "ocsp/exchange_history.h"

#include <gtest/gtest.h>

#include <string>

namespace ocspgate::ocsp {
namespace {

using namespace std::chrono_literals;

const std::string a = "http://a.example";
const std::string b = "http://b.example";
const ExchangeHistory::Clock::time_point t0 = ExchangeHistory::Clock::time_point{} + 1h;

TEST(ExchangeHistory, NothingInTheWindowIsIdle) {
    ExchangeHistory history;
    EXPECT_EQ(health_state(history.profile(t0, 5min)), "idle");
    history.record_attempt(a, t0, "timeout");
    history.record_query(t0, false);
    EXPECT_EQ(health_state(history.profile(t0 + 6min, 5min)), "idle");
    EXPECT_EQ(health_state(history.responders(t0 + 6min, 5min).at(a)), "idle");
}

TEST(ExchangeHistory, FailuresThenAnswersRecoverOnceTheFailuresLeaveTheWindow) {
    ExchangeHistory history;
    for (int i = 0; i < 3; ++i) {
        history.record_attempt(a, t0 + i * 1s, i == 0 ? "transport" : "timeout");
        history.record_query(t0 + i * 1s, false);
    }
    RecentExchanges down = history.profile(t0 + 3s, 5min);
    EXPECT_EQ(health_state(down), "failing");
    EXPECT_EQ(down.failures, (std::map<std::string, std::uint64_t>{{"timeout", 2}, {"transport", 1}}));

    history.record_attempt(a, t0 + 10s, "");
    history.record_query(t0 + 10s, true);
    EXPECT_EQ(health_state(history.profile(t0 + 10s, 5min)), "degraded");
    EXPECT_EQ(health_state(history.responders(t0 + 10s, 5min).at(a)), "degraded");

    history.record_attempt(a, t0 + 5min + 5s, "");
    history.record_query(t0 + 5min + 5s, true);
    RecentExchanges up = history.profile(t0 + 5min + 5s, 5min);
    EXPECT_EQ(health_state(up), "ok");
    EXPECT_EQ(up.answered, 2u);
    EXPECT_TRUE(up.failures.empty());
    ASSERT_TRUE(up.last_age.has_value());
    EXPECT_EQ(*up.last_age, 0s);
}

TEST(ExchangeHistory, OneFailingResponderDegradesTheProfileOnly) {
    ExchangeHistory history;
    history.record_attempt(a, t0, "timeout");
    history.record_attempt(b, t0, "");
    history.record_query(t0, true);
    auto responders = history.responders(t0, 5min);
    EXPECT_EQ(health_state(responders.at(a)), "failing");
    EXPECT_EQ(health_state(responders.at(b)), "ok");
    EXPECT_EQ(health_state(history.profile(t0, 5min)), "degraded");
}

TEST(ExchangeHistory, OnlyTheLastAttemptsOfAResponderCount) {
    ExchangeHistory history;
    history.record_attempt(a, t0, "timeout");
    for (std::size_t i = 0; i < ExchangeHistory::kAttemptsPerResponder; ++i) history.record_attempt(a, t0 + 1s, "");
    EXPECT_EQ(health_state(history.responders(t0 + 1s, 5min).at(a)), "ok");
}

TEST(ExchangeHistory, ResponderUrlsAreBounded) {
    ExchangeHistory history;
    for (std::size_t i = 0; i < ExchangeHistory::kMaxResponders + 10; ++i)
        history.record_attempt("http://r" + std::to_string(i) + ".example", t0, "");
    auto responders = history.responders(t0, 5min);
    EXPECT_EQ(responders.size(), ExchangeHistory::kMaxResponders + 1);
    EXPECT_EQ(responders.at("other").answered, 10u);
}

TEST(ExchangeHistory, AttemptsComeInTimeOrderAcrossResponders) {
    ExchangeHistory history;
    history.record_attempt(b, t0 + 2s, "");
    history.record_attempt(a, t0, "timeout");
    history.record_attempt(a, t0 + 3s, "");
    auto attempts = history.attempts();
    ASSERT_EQ(attempts.size(), 3u);
    EXPECT_EQ(attempts[0].responder, a);
    EXPECT_EQ(attempts[0].failure, "timeout");
    EXPECT_EQ(attempts[1].responder, b);
    EXPECT_EQ(attempts[2].at, t0 + 3s);
}

}  // namespace
}  // namespace ocspgate::ocsp
