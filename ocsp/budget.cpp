#include "ocsp/budget.h"

#include <algorithm>

namespace ocspgate::ocsp {

MethodNeed method_need(const RevocationProfile& profile, RevocationMethod method, std::size_t responders) {
    switch (method) {
        case RevocationMethod::ocsp: return {std::max<std::size_t>(responders, 1), profile.ocsp.timeout};
        case RevocationMethod::crl: return {1, profile.crl.timeout};
        case RevocationMethod::none: return {0, Duration{0}};
    }
    return {};
}

Duration method_share(Duration remaining, std::span<const MethodNeed> needs) {
    if (needs.empty() || remaining <= Duration{0}) return Duration{0};
    Duration own = needs.front().total();
    Duration all{0};
    for (const auto& n : needs) all += n.total();
    if (all <= remaining || all == Duration{0}) return own;
    // Proportional cut: own / all of what is left (in integer milliseconds, rounded down, so
    // the shares never add up to more than `remaining`).
    return Duration{remaining.count() * own.count() / all.count()};
}

Duration attempt_share(Duration remaining, std::size_t attempts_left, Duration timeout) {
    if (attempts_left == 0 || remaining <= Duration{0}) return Duration{0};
    return std::min(timeout, remaining / static_cast<long>(attempts_left));
}

Duration alert_reserve(Duration handshake_timeout) {
    return std::min(Duration{250}, handshake_timeout / 10);
}

Duration chain_need(const RevocationProfile& profile) {
    std::size_t responders = profile.ocsp.responders.size();
    for (const auto& issuer : profile.ocsp.issuers) responders = std::max(responders, issuer.responders.size());
    Duration total{0};
    for (RevocationMethod m : profile.methods) total += method_need(profile, m, responders).total();
    return total;
}

Duration time_left(Deadline deadline, SteadyClock::time_point now) {
    if (deadline <= now) return Duration{0};
    if (deadline == no_deadline) return Duration::max();
    // Rounded up: a share planned as 500 ms and read back a moment later is still 500 ms.
    return std::chrono::ceil<Duration>(deadline - now);
}

}  // namespace ocspgate::ocsp
