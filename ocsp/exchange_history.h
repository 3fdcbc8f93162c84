// Recent responder exchanges, so that health describes now rather than the time since start
// (#26 point 3). The Prometheus counters stay as they are (monotonic); this sits beside them.
//
// Remembered per responder URL: the last kAttemptsPerResponder attempts (answered, or failed
// with its error kind), each with its time; per profile: the last kQueries queries (answered
// or not). Health is computed at read time over the attempts inside a window the reader
// chooses (`[admin] health_window`), so "recent" means: inside the window, and among the last
// 128 attempts. The count bound keeps the memory fixed whatever the traffic (at most
// kMaxResponders URLs, further ones under "other", as CheckerStats does), and under heavy
// traffic it makes recovery show as soon as 128 answered attempts follow the failures.
// One mutex; recording is a few pushes, reading copies at most a few thousand entries.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ocspgate::ocsp {

// What a window of exchanges says. `answered` and `failed` count attempts (responders) or
// queries (profile); `failures` counts failed attempts by error kind.
struct RecentExchanges {
    std::uint64_t answered = 0;
    std::uint64_t failed = 0;
    std::map<std::string, std::uint64_t> failures;
    // The newest exchange inside the window: its age, and its failure kind ("" = answered).
    std::optional<std::chrono::steady_clock::duration> last_age;
    std::string last_failure;
};

// "idle": nothing inside the window; "ok": no failure; "failing": nothing answered;
// "degraded": some of each.
std::string_view health_state(const RecentExchanges& recent);

class ExchangeHistory {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t kAttemptsPerResponder = 128;
    static constexpr std::size_t kQueries = 256;
    static constexpr std::size_t kMaxResponders = 64;

    // One attempt at `responder`: `failure` is its error kind, empty when it answered.
    void record_attempt(const std::string& responder, Clock::time_point at, std::string_view failure);
    // One query of the profile, answered by some responder or by none.
    void record_query(Clock::time_point at, bool answered);

    // Over the exchanges no older than `window` at `now`.
    std::map<std::string, RecentExchanges> responders(Clock::time_point now, Clock::duration window) const;
    // The profile: its queries, with the failed attempts of all its responders as `failures`.
    RecentExchanges profile(Clock::time_point now, Clock::duration window) const;

    // Every remembered attempt, in time order: `ocspgate check` lists the steps of its one
    // check this way (at most kAttemptsPerResponder x kMaxResponders entries).
    struct Attempt {
        std::string responder;
        Clock::time_point at;  // when the attempt ended
        std::string failure;   // "" = answered
    };
    std::vector<Attempt> attempts() const;

private:
    struct Exchange {
        Clock::time_point at;
        std::string failure;  // "" = answered
    };
    using Ring = std::deque<Exchange>;
    static void push(Ring& ring, Exchange e, std::size_t bound);
    static RecentExchanges summarise(const Ring& ring, Clock::time_point now, Clock::duration window);

    mutable std::mutex mutex_;
    std::map<std::string, Ring> by_responder_;  // guarded by mutex_
    Ring queries_;                              // guarded by mutex_
};

}  // namespace ocspgate::ocsp
