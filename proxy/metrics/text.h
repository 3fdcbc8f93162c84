// Prometheus text exposition format 0.0.4: a writer with no I/O, so it is unit-tested alone.
// Every family starts with its # HELP and # TYPE lines; label values are escaped as the format
// requires (backslash, double quote, newline).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ocsp/latency_histogram.h"

namespace ocspgate::proxy::metrics {

using MetricLabels = std::vector<std::pair<std::string_view, std::string_view>>;

class MetricsText {
public:
    static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

    // Starts a family; `type` is "counter" or "gauge". Samples that follow belong to it.
    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, const MetricLabels& labels, std::uint64_t value);
    void sample(std::string_view name, std::uint64_t value) { sample(name, {}, value); }
    // For gauges that may go below zero (days left until a certificate expires).
    void sample_signed(std::string_view name, const MetricLabels& labels, std::int64_t value);
    // The samples of one histogram (family type "histogram"), in seconds: NAME_bucket with a
    // cumulative count per upper bound `le` (then "+Inf"), NAME_sum and NAME_count.
    void histogram(std::string_view name, const MetricLabels& labels, const ocsp::LatencyHistogram& histogram);

    const std::string& text() const { return text_; }

private:
    void append_sample(std::string_view name, const MetricLabels& labels, std::string_view value);
    void append_escaped(std::string_view value, bool help);
    std::string text_;
};

}  // namespace ocspgate::proxy::metrics
