// Tests for ocsp/get_fallback: which responders are asked by POST only after refusing GET, and
// when GET is tried there again. The time is passed in, so nothing sleeps.
#include "ocsp/get_fallback.h"

#include <gtest/gtest.h>

#include <string>

namespace ocspgate::ocsp {
namespace {

using namespace std::chrono_literals;

const std::string responder = "http://ocsp.example:8080/prefix";
const GetFallback::Clock::time_point t0{};  // any time will do: only differences count

TEST(GetFallback, UnknownResponderMayBeAskedByGet) {
    GetFallback fallback;
    EXPECT_TRUE(fallback.may_get(responder, t0));
    EXPECT_TRUE(fallback.refusing().empty());
}

TEST(GetFallback, ResponderThatRefusedIsAskedByPostUntilReprobeTime) {
    GetFallback fallback;
    fallback.record_refusal(responder, t0);
    EXPECT_FALSE(fallback.may_get(responder, t0));
    EXPECT_FALSE(fallback.may_get(responder, t0 + GetFallback::reprobe_after - 1s));
    EXPECT_EQ(fallback.refusing(), std::vector<std::string>{responder});
}

TEST(GetFallback, RefusalIsNewOnlyTheFirstTime) {
    GetFallback fallback;
    EXPECT_TRUE(fallback.record_refusal(responder, t0));
    EXPECT_FALSE(fallback.record_refusal(responder, t0 + 2h));  // a failed re-probe: no new log line
}

TEST(GetFallback, RefusalOfOneResponderLeavesOthersAlone) {
    GetFallback fallback;
    fallback.record_refusal(responder, t0);
    EXPECT_TRUE(fallback.may_get("http://other.example/", t0));
}

TEST(GetFallback, OnlyOneLookupReprobesAfterTheInterval) {
    GetFallback fallback;
    fallback.record_refusal(responder, t0);
    const auto later = t0 + GetFallback::reprobe_after;
    EXPECT_TRUE(fallback.may_get(responder, later));        // this lookup is the re-probe
    EXPECT_FALSE(fallback.may_get(responder, later + 1s));  // the others keep to POST meanwhile
}

TEST(GetFallback, SuccessfulReprobeForgetsTheRefusal) {
    GetFallback fallback;
    fallback.record_refusal(responder, t0);
    ASSERT_TRUE(fallback.may_get(responder, t0 + GetFallback::reprobe_after));
    fallback.record_success(responder);
    EXPECT_TRUE(fallback.may_get(responder, t0 + GetFallback::reprobe_after + 1s));
    EXPECT_TRUE(fallback.refusing().empty());
    EXPECT_TRUE(fallback.record_refusal(responder, t0 + 3h));  // refusing again is news again
}

TEST(GetFallback, FailedReprobeWaitsAnotherInterval) {
    GetFallback fallback;
    fallback.record_refusal(responder, t0);
    const auto reprobe = t0 + GetFallback::reprobe_after;
    ASSERT_TRUE(fallback.may_get(responder, reprobe));
    fallback.record_refusal(responder, reprobe);
    EXPECT_FALSE(fallback.may_get(responder, reprobe + GetFallback::reprobe_after - 1s));
    EXPECT_TRUE(fallback.may_get(responder, reprobe + GetFallback::reprobe_after));
}

TEST(GetFallback, RemembersAtMostTheBoundForgettingTheOldestFirst) {
    GetFallback fallback;
    for (std::size_t i = 0; i <= GetFallback::kMaxResponders; ++i)
        fallback.record_refusal("http://r" + std::to_string(i) + ".example/", t0);
    EXPECT_EQ(fallback.refusing().size(), GetFallback::kMaxResponders);
    EXPECT_TRUE(fallback.may_get("http://r0.example/", t0));  // the oldest went first
    EXPECT_FALSE(fallback.may_get("http://r1.example/", t0));
}

}  // namespace
}  // namespace ocspgate::ocsp
