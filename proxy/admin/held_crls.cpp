#include "proxy/admin/held_crls.h"

#include "ocsp/asn1_time.h"

namespace ocspgate::proxy::admin {
namespace {

std::int64_t seconds_between(std::chrono::system_clock::time_point from, std::chrono::system_clock::time_point to) {
    return std::chrono::duration_cast<std::chrono::seconds>(to - from).count();
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

void write_held_crl_metrics(metrics::MetricsText& out, const CheckerMap& checkers,
                            std::chrono::system_clock::time_point now) {
    std::vector<std::pair<std::string, std::vector<ocsp::HeldCrlState>>> held;
    for (const auto& [name, checker] : checkers) held.emplace_back(name, checker->held_crls());
    out.family("ocspgate_crl_age_seconds", "gauge",
               "Seconds since the thisUpdate of each CRL held, by profile and CRL (file or URL).");
    for (const auto& [profile, crls] : held)
        for (const auto& crl : crls)
            out.sample_signed("ocspgate_crl_age_seconds", {{"profile", profile}, {"crl", crl.source}},
                              seconds_between(crl.this_update, now));
    out.family("ocspgate_crl_next_update_seconds", "gauge",
               "nextUpdate of each CRL held, as Unix seconds (none for a CRL without nextUpdate).");
    for (const auto& [profile, crls] : held)
        for (const auto& crl : crls)
            if (crl.next_update)
                out.sample_signed("ocspgate_crl_next_update_seconds", {{"profile", profile}, {"crl", crl.source}},
                                  unix_seconds(*crl.next_update));
}

nlohmann::json held_crl_status(const CheckerMap& checkers, std::chrono::system_clock::time_point now) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [name, checker] : checkers)
        for (const auto& crl : checker->held_crls()) {
            nlohmann::json entry = {{"profile", name},
                                    {"crl", crl.source},
                                    {"this_update", ocsp::to_iso8601(crl.this_update)},
                                    {"age_seconds", seconds_between(crl.this_update, now)},
                                    {"next_update", nullptr},
                                    {"next_update_in_seconds", nullptr}};
            if (crl.next_update) {
                entry["next_update"] = ocsp::to_iso8601(*crl.next_update);
                entry["next_update_in_seconds"] = seconds_between(now, *crl.next_update);
            }
            out.push_back(std::move(entry));
        }
    return out;
}

}  // namespace ocspgate::proxy::admin
