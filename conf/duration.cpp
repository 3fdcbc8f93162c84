#include <array>
#include <charconv>
#include <string>

#include "conf/load.h"

namespace ocspgate::conf {
namespace {

struct DurationUnit {
    std::string_view suffix;
    Duration::rep milliseconds;
};

// Largest first, so format_duration() picks the largest exact unit.
constexpr std::array<DurationUnit, 5> duration_units{{
    {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},
    {"m", 60LL * 1000},
    {"s", 1000},
    {"ms", 1},
}};

// Consumers add durations to clock readings in nanoseconds (int64: about 292 years from
// 1970), so a century is the longest duration that can never overflow that sum.
constexpr Duration::rep longest_duration_ms = 36500LL * 24 * 3600 * 1000;

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0) return std::nullopt;
    Duration::rep count = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + digits, count);
    if (ec != std::errc() || end != text.data() + digits) return std::nullopt;
    std::string_view suffix = text.substr(digits);
    for (const DurationUnit& unit : duration_units) {
        if (unit.suffix != suffix) continue;
        Duration::rep milliseconds = 0;
        if (__builtin_mul_overflow(count, unit.milliseconds, &milliseconds) ||
            milliseconds > longest_duration_ms) {
            return std::nullopt;
        }
        return Duration(milliseconds);
    }
    return std::nullopt;
}

std::string format_duration(Duration d) {
    if (d.count() == 0) return "0s";
    for (const DurationUnit& unit : duration_units) {
        if (d.count() % unit.milliseconds == 0) {
            return std::to_string(d.count() / unit.milliseconds) + std::string(unit.suffix);
        }
    }
    return std::to_string(d.count()) + "ms";  // not reached: every count is whole ms
}

}  // namespace ocspgate::conf
