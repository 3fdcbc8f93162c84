#include "ocsp/exchange_history.h"

#include <algorithm>

namespace ocspgate::ocsp {

std::string_view health_state(const RecentExchanges& recent) {
    if (recent.answered == 0 && recent.failed == 0) return "idle";
    if (recent.failures.empty() && recent.failed == 0) return "ok";
    if (recent.answered == 0) return "failing";
    return "degraded";
}

void ExchangeHistory::push(Ring& ring, Exchange e, std::size_t bound) {
    if (ring.size() >= bound) ring.pop_front();
    ring.push_back(std::move(e));
}

void ExchangeHistory::record_attempt(const std::string& responder, Clock::time_point at, std::string_view failure) {
    std::lock_guard lock(mutex_);
    auto it = by_responder_.find(responder);
    if (it == by_responder_.end())
        it = by_responder_.try_emplace(by_responder_.size() < kMaxResponders ? responder : std::string("other")).first;
    push(it->second, {at, std::string(failure)}, kAttemptsPerResponder);
}

void ExchangeHistory::record_query(Clock::time_point at, bool answered) {
    std::lock_guard lock(mutex_);
    push(queries_, {at, answered ? std::string() : std::string("unanswered")}, kQueries);
}

// Rings are in time order (each push happens after the exchange ended; the few that end out of
// order on different loops differ by microseconds), so the walk stops at the first old one.
RecentExchanges ExchangeHistory::summarise(const Ring& ring, Clock::time_point now, Clock::duration window) {
    RecentExchanges out;
    for (auto it = ring.rbegin(); it != ring.rend() && now - it->at <= window; ++it) {
        if (!out.last_age) {
            out.last_age = now - it->at;
            out.last_failure = it->failure;
        }
        if (it->failure.empty()) {
            ++out.answered;
        } else {
            ++out.failed;
            ++out.failures[it->failure];
        }
    }
    return out;
}

std::map<std::string, RecentExchanges> ExchangeHistory::responders(Clock::time_point now, Clock::duration window) const {
    std::lock_guard lock(mutex_);
    std::map<std::string, RecentExchanges> out;
    for (const auto& [url, ring] : by_responder_) out[url] = summarise(ring, now, window);
    return out;
}

std::vector<ExchangeHistory::Attempt> ExchangeHistory::attempts() const {
    std::vector<Attempt> out;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [url, ring] : by_responder_)
            for (const auto& e : ring) out.push_back({url, e.at, e.failure});
    }
    std::stable_sort(out.begin(), out.end(), [](const Attempt& a, const Attempt& b) { return a.at < b.at; });
    return out;
}

RecentExchanges ExchangeHistory::profile(Clock::time_point now, Clock::duration window) const {
    std::lock_guard lock(mutex_);
    RecentExchanges out = summarise(queries_, now, window);
    out.failures.clear();  // "unanswered" is a query's outcome, not a responder failure kind
    for (const auto& [url, ring] : by_responder_)
        for (const auto& [kind, count] : summarise(ring, now, window).failures) out.failures[kind] += count;
    return out;
}

}  // namespace ocspgate::ocsp
