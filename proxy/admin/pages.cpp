#include "proxy/admin/pages.h"

#include <nlohmann/json.hpp>

#include "conf/names.h"
#include "proxy/admin/held_crls.h"
#include "proxy/log/log.h"
#include "proxy/metrics/text.h"

namespace ocspgate::proxy::admin {
namespace {

std::uint64_t load(const std::atomic<std::uint64_t>& counter) { return counter.load(std::memory_order_relaxed); }

std::uint64_t backend_failed(const ListenerCounters& c) {
    std::uint64_t total = 0;
    for (const auto& count : c.backend_failed) total += load(count);
    return total;
}

std::uint64_t open_now(const ListenerCounters& c) {
    std::uint64_t closed = load(c.accepted) + load(c.rejected) + backend_failed(c);
    std::uint64_t opened = load(c.opened);
    return opened > closed ? opened - closed : 0;  // the loads are not one snapshot
}

std::map<std::string, std::uint64_t> responder_errors(const ocsp::CheckerStats& stats) {
    std::lock_guard lock(stats.errors_mutex);
    return stats.responder_errors;
}

std::map<std::string, std::uint64_t> crl_no_answer(const ocsp::CheckerStats& stats) {
    std::lock_guard lock(stats.errors_mutex);
    return stats.crl_no_answer;
}

std::map<std::string, ocsp::ResponderCounts> by_responder(const ocsp::CheckerStats& stats) {
    std::lock_guard lock(stats.errors_mutex);
    return stats.by_responder;
}

struct CheckerCounter {
    const char* name;
    const char* help;
    const std::atomic<std::uint64_t> ocsp::CheckerStats::*member;
};

constexpr CheckerCounter kCheckerCounters[] = {
    {"ocspgate_revocation_lookups_total", "Revocation method lookups (OCSP and CRL).", &ocsp::CheckerStats::lookups},
    {"ocspgate_revocation_cache_hits_total", "Lookups answered from the status cache.", &ocsp::CheckerStats::cache_hits},
    {"ocspgate_revocation_cache_misses_total", "Lookups not answered from the status cache.",
     &ocsp::CheckerStats::cache_misses},
    {"ocspgate_revocation_coalesced_total", "Lookups that waited on another handshake's query.",
     &ocsp::CheckerStats::coalesced},
    {"ocspgate_revocation_responder_queries_total", "OCSP queries started.", &ocsp::CheckerStats::responder_queries},
    {"ocspgate_revocation_stale_used_total", "Stale good answers used because responders failed (stale_if_error).",
     &ocsp::CheckerStats::stale_used},
    {"ocspgate_shared_cache_hits_total", "OCSP lookups answered by a valid response from the shared cache ([cache.shared]).",
     &ocsp::CheckerStats::shared_hits},
    {"ocspgate_shared_cache_misses_total", "OCSP lookups for which the shared cache held no entry.",
     &ocsp::CheckerStats::shared_misses},
    {"ocspgate_shared_cache_writes_total", "Validated good or revoked responses written to the shared cache.",
     &ocsp::CheckerStats::shared_writes},
    {"ocspgate_shared_cache_leases_won_total",
     "Shared-cache misses after which this instance took the lease ([cache.shared] lease) and asked the responder.",
     &ocsp::CheckerStats::lease_won},
    {"ocspgate_shared_cache_lease_waits_total",
     "Shared-cache misses whose lease another instance held: this one waited for its answer in Redis.",
     &ocsp::CheckerStats::lease_waits},
    {"ocspgate_shared_cache_lease_waits_answered_total",
     "Lease waits that ended with the holder's answer read from Redis (no responder query here).",
     &ocsp::CheckerStats::lease_waits_answered},
    {"ocspgate_shared_cache_lease_waits_fell_back_total",
     "Lease waits that ended without a usable answer (not in time, refused, or Redis failing): the responder "
     "was asked.",
     &ocsp::CheckerStats::lease_waits_fell_back},
};

struct Verdict {
    const char* name;
    const std::atomic<std::uint64_t> ocsp::CheckerStats::*member;
};

constexpr Verdict kVerdicts[] = {
    {"accept", &ocsp::CheckerStats::verdict_accept},
    {"revoked", &ocsp::CheckerStats::verdict_revoked},
    {"unknown", &ocsp::CheckerStats::verdict_unknown},
    {"undetermined", &ocsp::CheckerStats::verdict_undetermined},
};

// Accepted clients the backend could not serve, one sample per reason (backend_failure.h).
void write_backend_failures(metrics::MetricsText& out, const ListenerSettings& settings) {
    for (std::size_t i = 0; i < kBackendFailureCount; ++i) {
        auto reason = std::string(backend_failure_name(static_cast<BackendFailure>(i)));
        out.sample("ocspgate_connections_total",
                   {{"listener", settings.conf.name}, {"decision", "backend_failed"}, {"reason", reason}},
                   load(settings.counters.backend_failed[i]));
    }
}

// Lingering closes after a refusal (proxy/core/linger.cpp).
void write_linger_metrics(metrics::MetricsText& out, const Shared& shared) {
    out.family("ocspgate_connections_lingering", "gauge",
               "Refused connections reading and dropping the client's last bytes before closing, now.");
    out.sample("ocspgate_connections_lingering",
               static_cast<std::uint64_t>(shared.lingering.load(std::memory_order_relaxed)));
    out.family("ocspgate_lingering_closes_total", "counter",
               "Refused connections closed after lingering, so that the client could read the alert.");
    out.sample("ocspgate_lingering_closes_total", load(shared.lingering_closes));
    out.family("ocspgate_lingering_skipped_total", "counter",
               "Refused connections closed at once because max_lingering connections were lingering.");
    out.sample("ocspgate_lingering_skipped_total", load(shared.linger_skipped));
}

void write_connection_metrics(metrics::MetricsText& out, const Runtime& runtime, const Shared& shared) {
    out.family("ocspgate_connections_active", "gauge", "Client connections open now, across all listeners.");
    out.sample("ocspgate_connections_active", shared.active_connections.load(std::memory_order_relaxed));
    out.family("ocspgate_handshakes_awaiting_revocation", "gauge",
               "Handshakes paused for a revocation lookup now (at most server.max_awaiting_revocation).");
    out.sample("ocspgate_handshakes_awaiting_revocation", shared.awaiting_revocation.load(std::memory_order_relaxed));
    out.family("ocspgate_handshakes_refused_awaiting_full_total", "counter",
               "Handshakes refused as undetermined because server.max_awaiting_revocation others "
               "were already waiting for a revocation lookup.");
    out.sample("ocspgate_handshakes_refused_awaiting_full_total",
               shared.awaiting_revocation_refused.load(std::memory_order_relaxed));
    out.family("ocspgate_connections_total", "counter",
               "Client connections closed, by listener and decision (accept: the handshake succeeded; "
               "backend_failed: it succeeded but the backend could not serve the client), refused "
               "and backend_failed ones also by reason (docs/ARCHITECTURE.md, Vocabulary).");
    for (const auto& settings : runtime.listeners) {
        const std::string& name = settings->conf.name;
        out.sample("ocspgate_connections_total", {{"listener", name}, {"decision", "accept"}},
                   load(settings->counters.accepted));
        for (std::size_t i = 0; i < kRefusalReasons; ++i)
            out.sample("ocspgate_connections_total",
                       {{"listener", name}, {"decision", "reject"}, {"reason", to_string(static_cast<RefusalReason>(i))}},
                       load(settings->counters.rejected_by_reason[i]));
        write_backend_failures(out, *settings);
    }
    write_linger_metrics(out, shared);
    out.family("ocspgate_connections_cut_total", "counter",
               "Accepted connections closed during the session because re-validation refused the client "
               "certificate or it expired, by listener.");
    for (const auto& settings : runtime.listeners)
        out.sample("ocspgate_connections_cut_total", {{"listener", settings->conf.name}}, load(settings->counters.cut_in_session));
    out.family("ocspgate_forwarded_bytes_total", "counter",
               "Plaintext bytes forwarded by closed connections, by listener and direction.");
    for (const auto& settings : runtime.listeners) {
        out.sample("ocspgate_forwarded_bytes_total", {{"listener", settings->conf.name}, {"direction", "client_to_backend"}},
                   load(settings->counters.bytes_from_client));
        out.sample("ocspgate_forwarded_bytes_total", {{"listener", settings->conf.name}, {"direction", "backend_to_client"}},
                   load(settings->counters.bytes_from_backend));
    }
    out.family("ocspgate_handshake_duration_seconds", "histogram",
               "From accept to the end of a successful client handshake, revocation wait included, by listener.");
    for (const auto& settings : runtime.listeners)
        out.histogram("ocspgate_handshake_duration_seconds", {{"listener", settings->conf.name}},
                      settings->counters.handshake_latency);
    out.family("ocspgate_config_generation", "gauge", "The configuration in force: 1 at start, +1 per applied reload.");
    out.sample("ocspgate_config_generation", runtime.generation);
}

// What individual responders do that an operator may want to fix there (#19): answers without
// the request's nonce, and GETs refused. Responder URLs are bounded per profile (CheckerStats).
void write_responder_quirk_metrics(metrics::MetricsText& out, const CheckerMap& checkers) {
    out.family("ocspgate_revocation_responder_nonce_missing_total", "counter",
               "OCSP responses without the nonce of the request, accepted (nonce = \"prefer\") or not, by responder.");
    out.family("ocspgate_revocation_responder_get_refused_total", "counter",
               "OCSP GETs refused (HTTP 4xx or malformedRequest) and asked again by POST, by responder.");
    for (const auto& [name, checker] : checkers) {
        const auto* stats = checker->counters();
        if (stats == nullptr) continue;
        for (const auto& [url, counts] : by_responder(*stats)) {
            out.sample("ocspgate_revocation_responder_nonce_missing_total", {{"profile", name}, {"responder", url}},
                       counts.nonce_missing);
            out.sample("ocspgate_revocation_responder_get_refused_total", {{"profile", name}, {"responder", url}},
                       counts.get_refused);
        }
    }
    out.family("ocspgate_revocation_responder_post_only", "gauge",
               "1 for each responder asked by POST only for now, because it refused GET (GET is tried again "
               "after an hour).");
    for (const auto& [name, checker] : checkers)
        for (const auto& url : checker->get_refusing_responders())
            out.sample("ocspgate_revocation_responder_post_only", {{"profile", name}, {"responder", url}}, 1);
}

std::map<std::string, std::uint64_t> shared_counts(const ocsp::CheckerStats& stats,
                                                  const std::map<std::string, std::uint64_t> ocsp::CheckerStats::*which) {
    std::lock_guard lock(stats.errors_mutex);
    return stats.*which;
}

// The shared cache's refusals and failures by reason, and each GET's time (#20).
void write_shared_cache_metrics(metrics::MetricsText& out, const CheckerMap& checkers) {
    out.family("ocspgate_shared_cache_rejected_total", "counter",
               "Shared-cache entries refused by validation and replaced by the responder's answer, by reason "
               "(bad_signature, unauthorized_signer, no_matching_response, expired, malformed, ...).");
    out.family("ocspgate_shared_cache_errors_total", "counter",
               "Shared-cache commands that failed, by kind (timeout, connection, reply, busy, write); the "
               "lookup went on to the responder.");
    for (const auto& [name, checker] : checkers) {
        const auto* stats = checker->counters();
        if (stats == nullptr) continue;
        for (const auto& [reason, count] : shared_counts(*stats, &ocsp::CheckerStats::shared_rejected))
            out.sample("ocspgate_shared_cache_rejected_total", {{"profile", name}, {"reason", reason}}, count);
        for (const auto& [kind, count] : shared_counts(*stats, &ocsp::CheckerStats::shared_errors))
            out.sample("ocspgate_shared_cache_errors_total", {{"profile", name}, {"kind", kind}}, count);
    }
    out.family("ocspgate_shared_cache_duration_seconds", "histogram",
               "Time of each shared-cache GET, answered or not (bounded by [cache.shared] timeout), by profile.");
    for (const auto& [name, checker] : checkers)
        if (const auto* stats = checker->counters())
            out.histogram("ocspgate_shared_cache_duration_seconds", {{"profile", name}}, stats->shared_latency);
}

void write_revocation_metrics(metrics::MetricsText& out, const CheckerMap& checkers) {
    for (const CheckerCounter& counter : kCheckerCounters) {
        out.family(counter.name, "counter", counter.help);
        for (const auto& [name, checker] : checkers)
            if (const auto* stats = checker->counters()) out.sample(counter.name, {{"profile", name}}, load(stats->*counter.member));
    }
    out.family("ocspgate_revocation_responder_errors_total", "counter", "Failed responder exchanges, by kind.");
    for (const auto& [name, checker] : checkers) {
        const auto* stats = checker->counters();
        if (stats == nullptr) continue;
        for (const auto& [kind, count] : responder_errors(*stats))
            out.sample("ocspgate_revocation_responder_errors_total", {{"profile", name}, {"kind", kind}}, count);
    }
    out.family("ocspgate_revocation_crl_no_answer_total", "counter",
               "CRL method lookups that gave no answer, by why (crl_unavailable, crl_out_of_scope, ...).");
    for (const auto& [name, checker] : checkers) {
        const auto* stats = checker->counters();
        if (stats == nullptr) continue;
        for (const auto& [reason, count] : crl_no_answer(*stats))
            out.sample("ocspgate_revocation_crl_no_answer_total", {{"profile", name}, {"reason", reason}}, count);
    }
    out.family("ocspgate_revocation_verdicts_total", "counter", "Chain decisions, by verdict.");
    for (const auto& [name, checker] : checkers) {
        const auto* stats = checker->counters();
        if (stats == nullptr) continue;
        for (const Verdict& v : kVerdicts)
            out.sample("ocspgate_revocation_verdicts_total", {{"profile", name}, {"verdict", v.name}}, load(stats->*v.member));
    }
    out.family("ocspgate_revocation_responder_duration_seconds", "histogram",
               "Time of each OCSP query to the responders (all attempts, answered or failed), by profile.");
    for (const auto& [name, checker] : checkers)
        if (const auto* stats = checker->counters())
            out.histogram("ocspgate_revocation_responder_duration_seconds", {{"profile", name}}, stats->responder_latency);
    out.family("ocspgate_cache_entries", "gauge", "Entries in the revocation status cache.");
    for (const auto& [name, checker] : checkers) out.sample("ocspgate_cache_entries", {{"profile", name}}, checker->cache_entries());
    write_responder_quirk_metrics(out, checkers);
    write_shared_cache_metrics(out, checkers);
}

using SteadyClock = std::chrono::steady_clock;

std::chrono::milliseconds health_window(const Runtime& runtime) { return runtime.config.admin.health_window; }

// The gauge beside the monotonic counters: what each responder did inside the health window.
void write_recent_exchange_metrics(metrics::MetricsText& out, const Runtime& runtime) {
    out.family("ocspgate_revocation_responder_recent_exchanges", "gauge",
               "OCSP exchanges with each responder inside [admin] health_window (at most its last 128), by "
               "outcome (answered, failed); what `ocspgate status` HEALTH is computed from.");
    auto now = SteadyClock::now();
    for (const auto& [name, checker] : runtime.checkers) {
        const auto* stats = checker->counters();
        if (stats == nullptr) continue;
        for (const auto& [url, recent] : stats->recent.responders(now, health_window(runtime))) {
            out.sample("ocspgate_revocation_responder_recent_exchanges",
                       {{"profile", name}, {"responder", url}, {"outcome", "answered"}}, recent.answered);
            out.sample("ocspgate_revocation_responder_recent_exchanges",
                       {{"profile", name}, {"responder", url}, {"outcome", "failed"}}, recent.failed);
        }
    }
}

nlohmann::json recent_json(const ocsp::RecentExchanges& recent) {
    nlohmann::json out = {
        {"state", std::string(ocsp::health_state(recent))},
        {"answered", recent.answered},
        {"failed", recent.failed},
        {"failures", recent.failures},
    };
    if (recent.last_age) {
        out["last_age_seconds"] = std::chrono::duration_cast<std::chrono::seconds>(*recent.last_age).count();
        out["last_result"] = recent.last_failure.empty() ? std::string("answered") : recent.last_failure;
    }
    return out;
}

// Health over the window: the profile's queries, and each responder's attempts.
nlohmann::json checker_health(const ocsp::CheckerStats& stats, std::chrono::milliseconds window) {
    auto now = SteadyClock::now();
    nlohmann::json out = recent_json(stats.recent.profile(now, window));
    out["window_seconds"] = std::chrono::duration_cast<std::chrono::seconds>(window).count();
    out["responders"] = nlohmann::json::array();
    for (const auto& [url, recent] : stats.recent.responders(now, window)) {
        nlohmann::json r = recent_json(recent);
        r["responder"] = url;
        out["responders"].push_back(std::move(r));
    }
    return out;
}

nlohmann::json checker_counters(const ocsp::CheckerStats& stats) {
    nlohmann::json out = nlohmann::json::object();
    for (const CheckerCounter& counter : kCheckerCounters) {
        std::string key = counter.name;
        key = key.substr(std::string("ocspgate_revocation_").size());
        out[key.substr(0, key.size() - std::string("_total").size())] = load(stats.*counter.member);
    }
    for (const Verdict& v : kVerdicts) out["verdicts"][v.name] = load(stats.*v.member);
    out["responder_errors"] = responder_errors(stats);
    out["by_responder"] = nlohmann::json::object();
    for (const auto& [url, counts] : by_responder(stats))
        out["by_responder"][url] = {{"nonce_missing", counts.nonce_missing}, {"get_refused", counts.get_refused}};
    return out;
}

std::int64_t seconds_left(expiry::SystemTime not_after, expiry::SystemTime now) {
    return std::chrono::duration_cast<std::chrono::seconds>(not_after - now).count();
}

// Every configured certificate, and every client certificate tracked now (from its first
// handshake, whatever its days left, within max_peer_certificates), as `ocspgate status`
// shows them by role. `left` is the one text format of expiry::time_left_text.
nlohmann::json certificate_status(const expiry::ExpiryMonitor& expiry) {
    nlohmann::json out = nlohmann::json::array();
    auto now = std::chrono::system_clock::now();
    for (const expiry::ExpiryEntry& e : expiry.entries(now)) {
        const expiry::WatchedCertificate& c = *e.certificate;
        if (c.role == "peer") continue;  // listed below, from the registry itself
        out.push_back({
            {"role", c.role},
            {"subject", c.subject},
            {"issuer", c.issuer},
            {"serial", c.serial},
            {"not_after", expiry::format_utc(c.not_after)},
            {"days_left", e.days_left},
            {"seconds_left", seconds_left(c.not_after, now)},
            {"left", expiry::time_left_text(c.not_after, now)},
            {"state", std::string(to_string(e.level))},
            {"where", c.where},
        });
    }
    for (const expiry::PeerCertificate& p : expiry.peers_now()) {
        nlohmann::json row = {
            {"role", "peer"},
            {"subject", p.subject},
            {"issuer", p.issuer},
            {"serial", p.serial},
            {"not_after", expiry::format_utc(p.not_after)},
            {"days_left", expiry::days_left(p.not_after, now)},
            {"seconds_left", seconds_left(p.not_after, now)},
            {"left", expiry::time_left_text(p.not_after, now)},
            {"state", std::string(to_string(expiry.level(p.not_after, now)))},
            {"where", "handshake"},
            {"last_seen", expiry::format_utc(p.last_seen)},
            {"decision", p.refused.empty() ? "accept" : "reject"},
        };
        if (!p.refused.empty()) row["reason"] = p.refused;
        out.push_back(std::move(row));
    }
    return out;
}

}  // namespace

std::string render_metrics(const Runtime& runtime, const Shared& shared, const expiry::ExpiryMonitor* expiry,
                           const staple::OwnStaples* staples) {
    const CheckerMap& checkers = runtime.checkers;
    metrics::MetricsText out;
    write_connection_metrics(out, runtime, shared);
    write_revocation_metrics(out, checkers);
    write_recent_exchange_metrics(out, runtime);
    write_held_crl_metrics(out, checkers, std::chrono::system_clock::now());
    out.family("ocspgate_log_lines_dropped_total", "counter", "Log lines dropped because the log queue was full.");
    out.sample("ocspgate_log_lines_dropped_total", log::dropped_lines());
    if (expiry != nullptr) expiry->write_metrics(out, std::chrono::system_clock::now());
    if (staples != nullptr) staples->write_metrics(out);
    return out.text();
}

std::string render_status(const Runtime& runtime, const Shared& shared, const expiry::ExpiryMonitor* expiry) {
    const conf::Config& config = runtime.config;
    const CheckerMap& checkers = runtime.checkers;
    nlohmann::json listeners = nlohmann::json::array();
    for (const auto& settings : runtime.listeners) {
        listeners.push_back({
            {"name", settings->conf.name},
            {"address", settings->conf.listen.text},
            {"protocol", std::string(conf::to_string(settings->conf.protocol))},
            {"revocation", settings->conf.revocation.value_or("")},
            {"active_connections", open_now(settings->counters)},
            {"accepted", load(settings->counters.accepted)},
            {"rejected", load(settings->counters.rejected)},
            {"backend_failed", backend_failed(settings->counters)},
        });
    }
    nlohmann::json profiles = nlohmann::json::array();
    for (const auto& [name, checker] : checkers) {
        nlohmann::json profile = {{"name", name}, {"cache_entries", checker->cache_entries()}};
        auto found = config.revocation.find(name);
        profile["responders"] = found != config.revocation.end() ? found->second.ocsp.responders
                                                                 : std::vector<std::string>{};
        if (const auto* stats = checker->counters()) {
            profile["counters"] = checker_counters(*stats);
            profile["health"] = checker_health(*stats, health_window(runtime));
        }
        profile["post_only_responders"] = checker->get_refusing_responders();
        profiles.push_back(std::move(profile));
    }
    nlohmann::json status = {
        {"active_connections", shared.active_connections.load(std::memory_order_relaxed)},
        {"config_generation", runtime.generation},
        {"listeners", std::move(listeners)},
        {"revocation_profiles", std::move(profiles)},
        {"log_lines_dropped", log::dropped_lines()},
        {"held_crls", held_crl_status(checkers, std::chrono::system_clock::now())},
    };
    if (expiry != nullptr) {
        status["certificates"] = certificate_status(*expiry);
        status["peer_certificates_tracked"] = expiry->peers_seen();
    }
    return status.dump(2) + "\n";
}

}  // namespace ocspgate::proxy::admin
