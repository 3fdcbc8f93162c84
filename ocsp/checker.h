// The revocation engine's narrow interface: check(chain) -> decision, asynchronously.
//
// SIP, LDAP and re-validation all go through this one interface. A Checker is shared by
// every worker loop; decide_cached() and check() may be called from any loop thread.
#pragma once

#include <openssl/x509.h>
#include <uv.h>

#include <chrono>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ocsp/budget.h"
#include "ocsp/exchange_history.h"
#include "ocsp/cert_status.h"
#include "ocsp/latency_histogram.h"
#include "ocsp/mailbox.h"
#include "ocsp/response.h"
#include "tls/engine.h"

namespace ocspgate::ocsp {

// What the revocation policy concluded about a whole chain, with what logs need to say why.
struct Decision {
    ChainVerdict verdict = ChainVerdict::undetermined;
    std::string status;   // cert_status:: word of the deciding certificate (base/verdict.h)
    std::string method;   // ocsp | crl | none
    std::string source;   // "cache", a responder URL, a CRL URL or file
    std::string detail;   // e.g. "unknown treated as revoked", "all methods failed: ..."
    std::string serial;   // serial (hex) of the certificate that decided, when not the leaf
    std::optional<std::chrono::seconds> age;  // the deciding answer came from the cache, obtained this long ago
    RevokedInfo revoked;  // verdict revoked: revocation time and reason, when the answer gave them
    // Methods that failed for a configuration reason, each reported in one decision only
    // (per profile, responder and kind, until the responder answers again or a reload).
    std::vector<ConfigProblem> config_problems;
    std::chrono::microseconds latency{0};
    // The deciding OCSP response's fields when it was fetched for this decision (not from the
    // cache): what `ocspgate check` shows.
    std::optional<Answer> answer;
};

// What happened with one responder, for the metrics endpoint.
struct ResponderCounts {
    std::uint64_t nonce_missing = 0;  // responses without the nonce we sent, accepted or not
    std::uint64_t get_refused = 0;    // GETs refused (HTTP 4xx, malformedRequest), asked again by POST
};

// Counters for the metrics endpoint; relaxed atomics, read as a snapshot.
struct CheckerStats {
    std::atomic<std::uint64_t> lookups{0};        // ocsp/crl lookups: cache hits + misses, once per handshake
    std::atomic<std::uint64_t> cache_hits{0};
    std::atomic<std::uint64_t> cache_misses{0};
    std::atomic<std::uint64_t> coalesced{0};      // waited on another handshake's query
    std::atomic<std::uint64_t> responder_queries{0};
    std::atomic<std::uint64_t> stale_used{0};
    mutable std::mutex errors_mutex;
    std::map<std::string, std::uint64_t> responder_errors;  // by kind; guarded by errors_mutex
    // By responder URL: the configured ones and those seen in certificates' AIA, at most
    // max_counted_responders; further ones are counted under "other", so that certificates
    // naming ever new URLs cannot grow it without bound. Guarded by errors_mutex.
    static constexpr std::size_t max_counted_responders = 64;
    std::map<std::string, ResponderCounts> by_responder;
    void count_for_responder(const std::string& url, std::uint64_t ResponderCounts::*counter) {
        std::lock_guard lock(errors_mutex);
        auto it = by_responder.find(url);
        if (it == by_responder.end())
            it = by_responder.size() < max_counted_responders ? by_responder.try_emplace(url).first
                                                              : by_responder.try_emplace("other").first;
        ++(it->second.*counter);
    }
    std::atomic<std::uint64_t> verdict_accept{0}, verdict_revoked{0}, verdict_unknown{0}, verdict_undetermined{0};
    // CRL method lookups that gave no answer, by MethodResult::no_answer (a fixed set of words,
    // crl_judge.h); guarded by errors_mutex.
    std::map<std::string, std::uint64_t> crl_no_answer;
    void count_crl_no_answer(const char* reason) {
        if (reason == nullptr) return;
        std::lock_guard lock(errors_mutex);
        ++crl_no_answer[reason];
    }
    LatencyHistogram responder_latency;  // each responder exchange that got an answer or failed
    // The shared cache ([cache.shared], ocsp/shared_cache/), for the lookups that left the
    // status cache: a valid entry found (hit), none (miss), one found but refused by
    // validation (rejected, by reason: a ResponseError word, or "unusable" for a valid
    // response we would not have stored), Redis not answering in time or at all (errors, by
    // kind: timeout, connection, reply, busy; write: a SET not sent or refused, e.g. OOM under
    // maxmemory), responses Redis stored, and each GET's time.
    std::atomic<std::uint64_t> shared_hits{0}, shared_misses{0}, shared_writes{0};
    // The lease ([cache.shared] lease) after a miss: taken (this instance asks the responder),
    // held by another instance (waited), and how each wait ended: its answer appeared in
    // Redis (answered), or not in time, or Redis failed (fell back to the responder).
    std::atomic<std::uint64_t> lease_won{0}, lease_waits{0}, lease_waits_answered{0}, lease_waits_fell_back{0};
    std::map<std::string, std::uint64_t> shared_rejected;  // guarded by errors_mutex
    std::map<std::string, std::uint64_t> shared_errors;    // guarded by errors_mutex
    void count_shared(std::map<std::string, std::uint64_t> CheckerStats::*which, const std::string& kind) {
        std::lock_guard lock(errors_mutex);
        ++(this->*which)[kind];
    }
    LatencyHistogram shared_latency;
    // The same exchanges with their times, for health over a recent window (`ocspgate status`).
    ExchangeHistory recent;
};

// One CRL the CRL method holds now (a file, or one downloaded from a URL), for metrics and
// `ocspgate status`.
struct HeldCrlState {
    std::string source;  // the file path or URL
    std::chrono::system_clock::time_point this_update;
    std::optional<std::chrono::system_clock::time_point> next_update;  // absent: none promised
};

// Cancelling guarantees the completion callback will not run afterwards. Destroying the
// handle cancels. Must be used on the loop thread that started the check.
class CheckHandle {
public:
    virtual ~CheckHandle() = default;
};

class Checker {
public:
    using Callback = std::function<void(Decision)>;
    virtual ~Checker() = default;

    // A decision that needs no I/O (every certificate answered from the cache), or nullopt.
    virtual std::optional<Decision> decide_cached(STACK_OF(X509) * chain) = 0;

    // Starts whatever lookups the chain needs; `done` runs once on `home`'s loop, never from
    // inside check() itself, and by `deadline` (a handshake's budget, ocsp/budget.h): lookups
    // are planned to fit and given up when they outlast their share. The handle may be
    // destroyed from inside `done`.
    virtual std::unique_ptr<CheckHandle> check(Mailbox& home, STACK_OF(X509) * chain, Deadline deadline,
                                               Callback done) = 0;

    // Housekeeping from the main thread, which serves no traffic: re-reads local files that
    // changed (CRL files). May block on file I/O, so never call it from a worker loop.
    virtual void refresh_local_files() = 0;

    // Read-only views for the admin endpoint (main thread). A checker without counters
    // returns null / 0. The counters are relaxed atomics: read them as a snapshot.
    virtual const CheckerStats* counters() const { return nullptr; }
    // Entries in the status cache now; may take the cache's shard locks briefly.
    virtual std::size_t cache_entries() { return 0; }
    // Responders asked by POST only for now, because they refused GET (ocsp/get_fallback.h).
    virtual std::vector<std::string> get_refusing_responders() { return {}; }
    // The CRLs held now, files first, at most max_listed_held_crls (by source name). Takes
    // the CRL store's lock briefly.
    static constexpr std::size_t max_listed_held_crls = 64;
    virtual std::vector<HeldCrlState> held_crls() { return {}; }
    // True when no lookup this checker started is still running. A checker replaced by a
    // reload is kept until then: a lookup's completion calls back into it.
    virtual bool idle() { return true; }
    // True when this checker took over the cached answers of the one it replaced on a reload
    // (the profile and its trust files unchanged); false at start and when they were dropped.
    virtual bool kept_cache() const { return false; }
};

}  // namespace ocspgate::ocsp
