// When the expiry monitor warns about a certificate: the "notification start" and "frequency"
// rules of [expiry], as values in and values out (no clock, no I/O), so they are unit-tested
// with made-up times.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "conf/config.h"

namespace ocspgate::proxy::expiry {

using SystemTime = std::chrono::system_clock::time_point;

enum class ExpiryLevel { fine, expiring, urgent, expired };

std::string_view to_string(ExpiryLevel level);

// Whole days from `now` until `not_after`, rounded down: 0 on the last day, negative once
// expired (-1 during the first day after notAfter).
std::int64_t days_left(SystemTime not_after, SystemTime now);

// Time left as `ocspgate status` shows it: whole days ("364d") from two days on; days and
// hours under two days ("1d 23h", "0d 5h"); once expired, how long ago the same way
// ("expired 0d 3h ago", "expired 12d ago"). Rounded down to the unit shown.
std::string time_left_text(SystemTime not_after, SystemTime now);

// "2026-11-25T18:00:00Z"
std::string format_utc(SystemTime t);

class ExpiryPolicy {
public:
    explicit ExpiryPolicy(const conf::Expiry& settings) : settings_(settings) {}

    // fine: more than notify_days left; urgent: urgent_days or fewer; expired: past notAfter.
    ExpiryLevel level(SystemTime not_after, SystemTime now) const;

    // Whether a certificate at `level`, last warned about at `last_warned` (never: nullopt),
    // is due a warning now: the first time it enters the window, then once per frequency
    // (urgent_frequency when urgent or expired).
    bool due(ExpiryLevel level, std::optional<SystemTime> last_warned, SystemTime now) const;

    // How often the monitor looks: often enough to honour the shortest repeat within a
    // quarter of it, but between 250 ms and one minute.
    std::chrono::milliseconds tick() const;

private:
    conf::Expiry settings_;
};

}  // namespace ocspgate::proxy::expiry
