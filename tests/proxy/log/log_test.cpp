#include "proxy/log/log.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "base/verdict.h"

namespace ocspgate::proxy::log {
namespace {

TEST(Capped, ShortTextIsKeptWhole) { EXPECT_EQ(capped("CN=phone-1", 256), "CN=phone-1"); }

TEST(Capped, TextOfExactlyTheLimitIsKeptWhole) {
    std::string text(256, 'a');
    EXPECT_EQ(capped(text, 256), text);
}

TEST(Capped, LongTextIsCutAndSaysHowLongItWas) {
    std::string text(70000, 'a');
    EXPECT_EQ(capped(text, 256), std::string(256, 'a') + "...[truncated, 70000 bytes]");
}

TEST(Capped, NeverCutsInsideAUtf8Character) {
    // 255 ASCII bytes, then "é" (C3 A9): the cut at 256 would split it, so it goes whole.
    std::string text = std::string(255, 'a') + "\xC3\xA9" + "tail";
    EXPECT_EQ(capped(text, 256), std::string(255, 'a') + "...[truncated, 261 bytes]");
    // A four-byte character ("𝄞", F0 9D 84 9E) straddling the limit.
    std::string clef = std::string(254, 'a') + "\xF0\x9D\x84\x9E";
    EXPECT_EQ(capped(clef, 256), std::string(254, 'a') + "...[truncated, 258 bytes]");
}

TEST(RefusalReasons, EveryReasonHasItsOwnWord) {
    std::set<std::string> words;
    for (std::size_t i = 0; i < kRefusalReasons; ++i) words.insert(to_string(static_cast<RefusalReason>(i)));
    EXPECT_EQ(words.size(), kRefusalReasons);
    EXPECT_STREQ(to_string(RefusalReason::no_certificate), "no_certificate");
    EXPECT_STREQ(to_string(RefusalReason::handshake_timeout), "handshake_timeout");
    EXPECT_EQ(refusal_for(ChainVerdict::revoked), RefusalReason::revoked);
    EXPECT_EQ(refusal_for(ChainVerdict::undetermined), RefusalReason::undetermined);
}

}  // namespace
}  // namespace ocspgate::proxy::log
