#include "proxy/metrics/text.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace ocspgate::proxy::metrics {
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

// 0.7 ms falls in the first bucket (le 0.001), 30 ms in le 0.05, 9 s only in +Inf; buckets are
// cumulative and the sum is in seconds.
TEST(MetricsText, HistogramBucketsAreCumulativeInSeconds) {
    ocsp::LatencyHistogram h;
    h.observe(std::chrono::microseconds(700));
    h.observe(std::chrono::milliseconds(30));
    h.observe(std::chrono::seconds(9));
    MetricsText out;
    out.histogram("d", {{"listener", "l"}}, h);
    const std::string& t = out.text();
    EXPECT_NE(t.find("d_bucket{listener=\"l\",le=\"0.001\"} 1\n"), std::string::npos) << t;
    EXPECT_NE(t.find("d_bucket{listener=\"l\",le=\"0.025\"} 1\n"), std::string::npos) << t;
    EXPECT_NE(t.find("d_bucket{listener=\"l\",le=\"0.05\"} 2\n"), std::string::npos) << t;
    EXPECT_NE(t.find("d_bucket{listener=\"l\",le=\"5\"} 2\n"), std::string::npos) << t;
    EXPECT_NE(t.find("d_bucket{listener=\"l\",le=\"+Inf\"} 3\n"), std::string::npos) << t;
    EXPECT_NE(t.find("d_sum{listener=\"l\"} 9.0307\n"), std::string::npos) << t;
    EXPECT_NE(t.find("d_count{listener=\"l\"} 3\n"), std::string::npos) << t;
}

}  // namespace
}  // namespace ocspgate::proxy::metrics
