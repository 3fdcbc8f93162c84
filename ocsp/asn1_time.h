// ASN.1 UTCTime / GeneralizedTime (certificates, CRLs, OCSP) as std::chrono time points.
#pragma once

#include <openssl/asn1.h>

#include <chrono>
#include <optional>
#include <string>

namespace ocspgate::ocsp {

// nullopt when `t` is null or not a valid time. Fractional seconds are dropped. Times before
// 1700 or after 2200 are clamped to those years (system_clock's range ends in 2262).
std::optional<std::chrono::system_clock::time_point> to_time_point(const ASN1_TIME* t);

// "2030-03-17T17:46:40Z" (UTC, whole seconds), for log messages about those times.
std::string to_iso8601(std::chrono::system_clock::time_point t);

}  // namespace ocspgate::ocsp
