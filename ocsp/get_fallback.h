// Which responders refuse OCSP over HTTP GET, so that request = "get" never causes an outage.
//
// GET (RFC 6960 Appendix A.1, RFC 5019 §5) lets HTTP caches serve responses, but responders
// get it wrong in the wild: some answer every GET with HTTP 400 (a version that fails to strip
// the leading "/" of the base64 path), `openssl ocsp` refuses GET when the responder URL has a
// path prefix, and some answer malformedRequest. OcspQuery retries such a lookup by POST at
// once and records the responder here; later lookups then POST to it straight away, and one
// of them tries GET again after `reprobe_after`, in case the responder was fixed.
//
// A pure record with no I/O: callers pass the time (steady clock), so tests need no sleeping.
// Thread-safe: the worker loops of one revocation profile share its RevocationChecker's.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

namespace ocspgate::ocsp {

class GetFallback {
public:
    using Clock = std::chrono::steady_clock;

    // How long a responder that refused GET is asked by POST only. A refusal is a property of
    // the responder's software, so retrying sooner mostly costs a doubled round trip.
    static constexpr std::chrono::hours reprobe_after{1};
    // Responders remembered at once: the configured ones and those seen in certificates' AIA
    // are a handful; past this bound the longest-remembered is forgotten (and re-learned).
    static constexpr std::size_t kMaxResponders = 64;

    // Whether a lookup at `now` may ask `url` by GET: true unless it refused GET less than
    // reprobe_after ago. When that time has passed, the caller that gets true is the one
    // re-probe: the responder counts as refusing for another reprobe_after unless the caller
    // reports success.
    bool may_get(const std::string& url, Clock::time_point now);

    // `url` refused a GET at `now`. True when it was not already known to refuse: the caller
    // says so once (a log line), not on every lookup.
    bool record_refusal(const std::string& url, Clock::time_point now);

    // `url` answered a GET: it is no longer known to refuse.
    void record_success(const std::string& url);

    // The responders known to refuse GET, in the order they were recorded.
    std::vector<std::string> refusing();

private:
    struct Refusal {
        std::string url;
        Clock::time_point retry_at;  // GET is tried again from then on
    };

    std::mutex mutex_;
    std::vector<Refusal> refusals_;  // oldest first, at most kMaxResponders; guarded by mutex_
};

}  // namespace ocspgate::ocsp
