#include "proxy/metrics/text.h"

#include <fmt/format.h>

namespace ocspgate::proxy::metrics {

void MetricsText::family(std::string_view name, std::string_view type, std::string_view help) {
    text_.append("# HELP ").append(name).append(" ");
    append_escaped(help, true);
    text_.append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
}

void MetricsText::sample(std::string_view name, const MetricLabels& labels, std::uint64_t value) {
    append_sample(name, labels, std::to_string(value));
}

void MetricsText::sample_signed(std::string_view name, const MetricLabels& labels, std::int64_t value) {
    append_sample(name, labels, std::to_string(value));
}

void MetricsText::histogram(std::string_view name, const MetricLabels& labels,
                            const ocsp::LatencyHistogram& histogram) {
    const std::string bucket = std::string(name) + "_bucket";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= ocsp::LatencyHistogram::kBoundsMs.size(); ++i) {
        cumulative += histogram.bucket(i);
        std::string le = i < ocsp::LatencyHistogram::kBoundsMs.size()
                             ? fmt::format("{}", static_cast<double>(ocsp::LatencyHistogram::kBoundsMs[i]) / 1000)
                             : "+Inf";
        MetricLabels with_le = labels;
        with_le.emplace_back("le", le);
        append_sample(bucket, with_le, std::to_string(cumulative));
    }
    append_sample(std::string(name) + "_sum", labels, fmt::format("{}", static_cast<double>(histogram.sum_us()) / 1e6));
    append_sample(std::string(name) + "_count", labels, std::to_string(histogram.count()));
}

void MetricsText::append_sample(std::string_view name, const MetricLabels& labels, std::string_view value) {
    text_.append(name);
    if (!labels.empty()) {
        text_.push_back('{');
        for (std::size_t i = 0; i < labels.size(); ++i) {
            if (i > 0) text_.push_back(',');
            text_.append(labels[i].first).append("=\"");
            append_escaped(labels[i].second, false);
            text_.push_back('"');
        }
        text_.push_back('}');
    }
    text_.append(" ").append(value).append("\n");
}

// HELP text escapes backslash and newline; label values also escape the double quote.
void MetricsText::append_escaped(std::string_view value, bool help) {
    for (char c : value) {
        if (c == '\\') text_.append("\\\\");
        else if (c == '\n') text_.append("\\n");
        else if (c == '"' && !help) text_.append("\\\"");
        else text_.push_back(c);
    }
}

}  // namespace ocspgate::proxy::metrics
