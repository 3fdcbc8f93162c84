#include "proxy/expiry/policy.h"

#include <algorithm>
#include <array>
#include <ctime>

namespace ocspgate::proxy::expiry {
namespace {

constexpr std::chrono::seconds kDay{24 * 3600};
constexpr std::chrono::milliseconds kShortestTick{250};
constexpr std::chrono::milliseconds kLongestTick{60 * 1000};

}  // namespace

std::string_view to_string(ExpiryLevel level) {
    switch (level) {
        case ExpiryLevel::fine: return "fine";
        case ExpiryLevel::expiring: return "expiring";
        case ExpiryLevel::urgent: return "urgent";
        case ExpiryLevel::expired: return "expired";
    }
    return "fine";
}

std::int64_t days_left(SystemTime not_after, SystemTime now) {
    auto left = std::chrono::duration_cast<std::chrono::seconds>(not_after - now);
    auto days = left.count() / kDay.count();
    if (left.count() < 0 && left.count() % kDay.count() != 0) --days;  // floor, not truncate
    return days;
}

std::string time_left_text(SystemTime not_after, SystemTime now) {
    bool expired = not_after <= now;
    auto span = std::chrono::duration_cast<std::chrono::seconds>(expired ? now - not_after : not_after - now);
    auto days = span.count() / kDay.count();
    std::string text = std::to_string(days) + "d";
    if (span < 2 * kDay) text += " " + std::to_string((span.count() % kDay.count()) / 3600) + "h";
    return expired ? "expired " + text + " ago" : text;
}

std::string format_utc(SystemTime t) {
    std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    std::array<char, 32> text{};
    std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text.data();
}

ExpiryLevel ExpiryPolicy::level(SystemTime not_after, SystemTime now) const {
    if (not_after <= now) return ExpiryLevel::expired;
    auto left = not_after - now;
    if (left <= settings_.urgent_days * kDay) return ExpiryLevel::urgent;
    if (left <= settings_.notify_days * kDay) return ExpiryLevel::expiring;
    return ExpiryLevel::fine;
}

bool ExpiryPolicy::due(ExpiryLevel level, std::optional<SystemTime> last_warned, SystemTime now) const {
    if (level == ExpiryLevel::fine) return false;
    if (!last_warned) return true;
    auto every = level == ExpiryLevel::expiring ? settings_.frequency : settings_.urgent_frequency;
    return now - *last_warned >= every;
}

std::chrono::milliseconds ExpiryPolicy::tick() const {
    auto shortest = std::min(settings_.frequency, settings_.urgent_frequency);
    return std::clamp<std::chrono::milliseconds>(shortest / 4, kShortestTick, kLongestTick);
}

}  // namespace ocspgate::proxy::expiry
