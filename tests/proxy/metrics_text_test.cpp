#include "proxy/metrics_text.h"

#include <gtest/gtest.h>

namespace ocspgate::proxy {
namespace {

TEST(MetricsText, FamilyWritesHelpThenType) {
    MetricsText out;
    out.family("ocspgate_x_total", "counter", "Things counted.");
    EXPECT_EQ(out.text(), "# HELP ocspgate_x_total Things counted.\n# TYPE ocspgate_x_total counter\n");
}

TEST(MetricsText, SampleWithoutLabelsIsNameSpaceValue) {
    MetricsText out;
    out.sample("ocspgate_connections_active", 7);
    EXPECT_EQ(out.text(), "ocspgate_connections_active 7\n");
}

TEST(MetricsText, LabelsAreCommaSeparatedInOrder) {
    MetricsText out;
    out.sample("m", {{"listener", "sip"}, {"decision", "accept"}}, 18446744073709551615ULL);
    EXPECT_EQ(out.text(), "m{listener=\"sip\",decision=\"accept\"} 18446744073709551615\n");
}

TEST(MetricsText, LabelValuesEscapeBackslashQuoteAndNewline) {
    MetricsText out;
    out.sample("m", {{"kind", "a\\b\"c\nd"}}, 1);
    EXPECT_EQ(out.text(), "m{kind=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(MetricsText, HelpEscapesBackslashAndNewlineButNotQuote) {
    MetricsText out;
    out.family("m", "gauge", "a \"b\"\\\n");
    EXPECT_EQ(out.text(), "# HELP m a \"b\"\\\\\\n\n# TYPE m gauge\n");
}

TEST(MetricsText, SignedSamplesMayBeNegative) {
    MetricsText out;
    out.sample_signed("days", {{"role", "listener"}}, -3);
    EXPECT_EQ(out.text(), "days{role=\"listener\"} -3\n");
}

}  // namespace
}  // namespace ocspgate::proxy
