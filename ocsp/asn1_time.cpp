#include "ocsp/asn1_time.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <ctime>

namespace ocspgate::ocsp {

std::optional<std::chrono::system_clock::time_point> to_time_point(const ASN1_TIME* t) {
    std::tm tm{};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
    // Calendar arithmetic in std::chrono: timegm() is not standard and mktime() is local time.
    using namespace std::chrono;
    const sys_days day = year{tm.tm_year + 1900} / month{static_cast<unsigned>(tm.tm_mon + 1)} /
                         static_cast<unsigned>(tm.tm_mday);
    const sys_seconds when = day + hours{tm.tm_hour} + minutes{tm.tm_min} + seconds{tm.tm_sec};
    // ASN.1 times reach 9999 (RFC 5280 even prescribes 99991231235959Z for "no expiry"), but
    // system_clock counts nanoseconds here, which end in 2262: clamp to a range that keeps
    // headroom for the skews and lifetimes callers add, instead of overflowing.
    constexpr sys_days earliest = year{1700} / January / 1;
    constexpr sys_days latest = year{2200} / January / 1;
    return time_point_cast<system_clock::duration>(std::clamp<sys_seconds>(when, earliest, latest));
}

std::string to_iso8601(std::chrono::system_clock::time_point t) {
    return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                       std::chrono::time_point_cast<std::chrono::seconds>(t));
}

}  // namespace ocspgate::ocsp
