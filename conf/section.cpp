#include "conf/section.h"

#include <fmt/format.h>

#include <algorithm>

namespace ocspgate::conf {
namespace {

// Levenshtein distance, for "did you mean" on misspelt keys.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
            diagonal = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitution});
        }
    }
    return row[b.size()];
}

// A known key close enough to `key` to be what the operator meant, or "".
std::string_view closest(std::string_view key, const std::vector<std::string_view>& known) {
    constexpr std::size_t max_typo_distance = 2;
    std::string_view best;
    std::size_t best_distance = max_typo_distance + 1;
    for (std::string_view candidate : known) {
        std::size_t distance = edit_distance(key, candidate);
        if (distance < best_distance && distance < candidate.size()) {
            best = candidate;
            best_distance = distance;
        }
    }
    return best;
}

}  // namespace

void report_unknown_keys(const toml::table& table, const std::vector<std::string_view>& known,
                         Context& context) {
    for (auto&& [key, value] : table) {
        if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
        std::string message = fmt::format("unknown key \"{}\"", key.str());
        if (std::string_view guess = closest(key.str(), known); !guess.empty()) {
            message += fmt::format(" (did you mean \"{}\"?)", guess);
        }
        context.error(key.source(), message);
    }
}

bool check_name(std::string_view name, const toml::node& node, Context& context) {
    constexpr std::size_t max_name_length = 64;
    auto allowed = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
    };
    if (!name.empty() && name.size() <= max_name_length &&
        std::all_of(name.begin(), name.end(), allowed)) {
        return true;
    }
    context.error(node, fmt::format("\"{}\" is not a valid name: use 1 to {} letters, digits, "
                                    "'.', '_' or '-'",
                                    name, max_name_length));
    return false;
}

}  // namespace ocspgate::conf
