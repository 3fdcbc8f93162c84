// The CRLs each revocation profile holds, with their age and nextUpdate: gauges for /metrics
// and a section of /status (and so of `ocspgate status`). Kept apart from pages.cpp so the
// CRL view changes on its own. Bounded by Checker::max_listed_held_crls per profile.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>

#include "proxy/core/runtime.h"
#include "proxy/metrics/text.h"

namespace ocspgate::proxy::admin {

// ocspgate_crl_age_seconds{profile,crl} (now - thisUpdate) and
// ocspgate_crl_next_update_seconds{profile,crl} (Unix seconds; no sample when the CRL has no
// nextUpdate).
void write_held_crl_metrics(metrics::MetricsText& out, const CheckerMap& checkers,
                            std::chrono::system_clock::time_point now);

// [{"profile", "crl", "this_update", "age_seconds", "next_update" (or null), "next_update_in_seconds"}...]
nlohmann::json held_crl_status(const CheckerMap& checkers, std::chrono::system_clock::time_point now);

}  // namespace ocspgate::proxy::admin
