#include "proxy/metrics_text.h"

namespace ocspgate::proxy {

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

}  // namespace ocspgate::proxy
