#include <gtest/gtest.h>

#include "conf/load.h"

namespace ocspgate::conf {
namespace {

using namespace std::chrono_literals;

TEST(ParseDuration, AcceptsEachUnit) {
    EXPECT_EQ(parse_duration("250ms"), Duration(250ms));
    EXPECT_EQ(parse_duration("10s"), Duration(10s));
    EXPECT_EQ(parse_duration("15m"), Duration(15min));
    EXPECT_EQ(parse_duration("1h"), Duration(1h));
    EXPECT_EQ(parse_duration("7d"), Duration(7 * 24h));
}

TEST(ParseDuration, AcceptsZero) {
    EXPECT_EQ(parse_duration("0s"), Duration(0));
}

TEST(ParseDuration, RejectsNegative) {
    EXPECT_EQ(parse_duration("-1s"), std::nullopt);
}

TEST(ParseDuration, RejectsAMissingUnit) {
    EXPECT_EQ(parse_duration("10"), std::nullopt);
}

TEST(ParseDuration, RejectsAnUnknownUnit) {
    EXPECT_EQ(parse_duration("10sec"), std::nullopt);
    EXPECT_EQ(parse_duration("10w"), std::nullopt);
    EXPECT_EQ(parse_duration("10S"), std::nullopt);
}

TEST(ParseDuration, RejectsGarbage) {
    EXPECT_EQ(parse_duration(""), std::nullopt);
    EXPECT_EQ(parse_duration("s"), std::nullopt);
    EXPECT_EQ(parse_duration(" 10s"), std::nullopt);
    EXPECT_EQ(parse_duration("10 s"), std::nullopt);
    EXPECT_EQ(parse_duration("+10s"), std::nullopt);
    EXPECT_EQ(parse_duration("1.5s"), std::nullopt);
}

TEST(ParseDuration, RejectsCompoundForms) {
    EXPECT_EQ(parse_duration("1h30m"), std::nullopt);
}

TEST(ParseDuration, RejectsNumbersTooLongForTheCounter) {
    EXPECT_EQ(parse_duration("99999999999999999999999ms"), std::nullopt);
}

TEST(ParseDuration, RejectsProductsThatOverflow) {
    EXPECT_EQ(parse_duration("9223372036854775807d"), std::nullopt);
}

TEST(ParseDuration, AcceptsUpToACentury) {
    EXPECT_EQ(parse_duration("36500d"), Duration(36500 * 24h));
    EXPECT_EQ(parse_duration("36501d"), std::nullopt);
}

TEST(FormatDuration, UsesTheLargestExactUnit) {
    EXPECT_EQ(format_duration(Duration(0)), "0s");
    EXPECT_EQ(format_duration(250ms), "250ms");
    EXPECT_EQ(format_duration(1500ms), "1500ms");
    EXPECT_EQ(format_duration(900s), "15m");
    EXPECT_EQ(format_duration(7 * 24h), "7d");
}

TEST(FormatDuration, RoundTripsThroughParse) {
    for (std::string text : {"1ms", "59s", "61m", "25h", "3d"}) {
        EXPECT_EQ(format_duration(*parse_duration(text)), text);
    }
}

}  // namespace
}  // namespace ocspgate::conf
