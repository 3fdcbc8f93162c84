#include "ocsp/asn1_time.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <ctime>

namespace ocspgate::ocsp {

std::optional<std::chrono::system_clock::time_point> to_time_point(const ASN1_TIME* t) {
    std::tm tm{};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
    // Calendar arithmetic in std::chrono: timegm() is not standard and mktime() is local time.
    using namespace std::chrono;
    const sys_days day = year{tm.tm_year + 1900} / month{static_cast<unsigned>(tm.tm_mon + 1)} /
                         static_cast<unsigned>(tm.tm_mday);
    return time_point_cast<system_clock::duration>(day + hours{tm.tm_hour} + minutes{tm.tm_min} +
                                                   seconds{tm.tm_sec});
}

std::string to_iso8601(std::chrono::system_clock::time_point t) {
    return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                       std::chrono::time_point_cast<std::chrono::seconds>(t));
}

}  // namespace ocspgate::ocsp
