// The handshake timeout as a budget the method chain plans for (a pure core: no I/O, no clock
// of its own). A client waits for its verdict at most `handshake_timeout`; a chain of methods
// (three responders at 3 s, then a CRL at 5 s) may ask for more. Rather than let the first
// method eat the whole budget and the client hear nothing, every method that is still to run
// gets a share of the time left in proportion to what it asks for: when everything fits,
// each gets its full timeout; when not, each is cut by the same factor. Recomputed at every
// step, so time one method leaves unused goes to the next.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>

#include "ocsp/settings.h"

namespace ocspgate::ocsp {

using SteadyClock = std::chrono::steady_clock;
// When a check must have delivered its decision. `no_deadline`: no handshake waits on it
// (re-validation of a live connection); every attempt gets its configured timeout.
using Deadline = SteadyClock::time_point;
inline constexpr Deadline no_deadline = Deadline::max();

// What one method asks for: its attempts (responders tried in turn; one CRL fetch) and the
// timeout of each.
struct MethodNeed {
    std::size_t attempts = 0;
    Duration timeout{0};
    Duration total() const { return timeout * static_cast<long>(attempts); }
};

// What `method` of `profile` asks for when it has `responders` responders to try (OCSP).
MethodNeed method_need(const RevocationProfile& profile, RevocationMethod method, std::size_t responders);

// The share of `remaining` for needs[0], given that needs[1..] still have to run after it.
Duration method_share(Duration remaining, std::span<const MethodNeed> needs);

// The timeout for one attempt when `attempts_left` attempts (this one included) must fit in
// `remaining` and each may take at most `timeout`.
Duration attempt_share(Duration remaining, std::size_t attempts_left, Duration timeout);

// Time a handshake keeps back from its revocation wait to send the verdict's alert before the
// handshake timer fires: a tenth of the timeout, at most 250 ms.
Duration alert_reserve(Duration handshake_timeout);

// The worst case of a profile's method chain on one certificate, counting the configured
// responders (one when only the AIA names them): what `--check-config` compares with the
// handshake timeout.
Duration chain_need(const RevocationProfile& profile);

// The time left until `deadline`, never negative, in whole milliseconds (rounded up).
Duration time_left(Deadline deadline, SteadyClock::time_point now);

}  // namespace ocspgate::ocsp
