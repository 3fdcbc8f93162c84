// The Checker for one revocation profile: policy per certificate, answers from the shared
// StatusCache when it can, otherwise one coalesced OCSP query per CertID across all loops.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "ocsp/settings.h"
#include "ocsp/checker.h"
#include "ocsp/crl_store.h"
#include "ocsp/get_fallback.h"
#include "ocsp/policy.h"
#include "ocsp/responder_cache.h"
#include "ocsp/shared_cache/shared_cache.h"
#include "ocsp/status_cache.h"
#include "ocsp/url.h"
#include "tls/ossl.h"

namespace ocspgate::ocsp {

// A certificate to check and the CA that issued it (both owned: the chain may go away).
struct CertPair {
    tls::X509Ptr cert;
    tls::X509Ptr issuer;
    CertId id;  // SHA-1 CertID: the cache and coalescing key
    // The trust anchor the chain was verified to (its last certificate): a separate CRL signer
    // must chain to it (RFC 5280 §6.3.3 f). Null when unknown.
    tls::X509Ptr anchor = {};
};

class RevocationChecker final : public Checker {
public:
    // `previous`: the checker this one replaces on a reload, or null. Its counters carry
    // over (metrics stay monotonic), and so does its cache when the profile is unchanged.
    // `shared`: the fleet's shared cache ([cache.shared]), or null; shared by every checker.
    // `crl_trace`: where the CRL method records its steps, from the file reads here on
    // (`ocspgate check`); null, as in the proxy, records nothing.
    static Result<std::unique_ptr<RevocationChecker>> create(const RevocationProfile& profile,
                                                             const RevocationChecker* previous = nullptr,
                                                             std::shared_ptr<SharedCache> shared = nullptr,
                                                             std::shared_ptr<StepTrace> crl_trace = {});

    std::optional<Decision> decide_cached(STACK_OF(X509) * chain) override;
    std::unique_ptr<CheckHandle> check(Mailbox& home, STACK_OF(X509) * chain, Deadline deadline,
                                       Callback done) override;
    void refresh_local_files() override { crls_.reload_changed_files(); }

    // Used by ChainCheck.
    using ResultCallback = std::function<void(MethodResult)>;
    struct Waiter {
        Mailbox* home = nullptr;
        ResultCallback deliver;
        bool cancelled = false;  // set and read on home's loop thread only
    };
    const RevocationProfile& profile() const { return profile_; }
    std::optional<MethodResult> lookup_cached(RevocationMethod method, const CertPair& pair);
    // `share_ends`: when the waiter gives up (ChainCheck); an OCSP query started for it plans
    // its attempts to end by then.
    void lookup_async(RevocationMethod method, const CertPair& pair, std::shared_ptr<Waiter> waiter,
                      Deadline share_ends = no_deadline);
    // How many OCSP responders a lookup for `pair` would try (configured and AIA).
    std::size_t responder_count(const CertPair& pair) const { return responders_for(pair).size(); }
    Result<std::vector<CertPair>> targets(STACK_OF(X509) * chain) const;
    CheckerStats& stats() { return stats_; }
    const CheckerStats* counters() const override { return &stats_; }
    std::size_t cache_entries() override { return cache_.size(); }
    std::vector<std::string> get_refusing_responders() override { return get_fallback_.refusing(); }
    bool kept_cache() const override { return kept_cache_; }
    std::vector<HeldCrlState> held_crls() override { return crls_.held(max_listed_held_crls); }
    bool idle() override;
    StatusCache& cache() { return cache_; }

private:
    RevocationChecker(const RevocationProfile& profile, std::shared_ptr<StatusCache> cache,
                      std::shared_ptr<CheckerStats> stats, std::shared_ptr<StepTrace> crl_trace);
    static std::string trust_fingerprint(const RevocationProfile& profile);
    Result<Ok> load_files();
    std::vector<Url> responders_for(const CertPair& pair) const;
    std::optional<MethodResult> ocsp_cached(const CertPair& pair);
    void ocsp_async(const CertPair& pair, std::shared_ptr<Waiter> waiter, Deadline share_ends);
    bool uses_shared_cache() const;
    void shared_lookup(Mailbox& home, const CertId& id, const std::string& key, std::shared_ptr<struct QueryInput> input);
    void start_query(Mailbox& home, const CertId& id, const std::string& key, struct QueryInput input, std::string note);
    // Validates bytes read from the shared cache: true when they answered the flight `key`
    // (delivered); otherwise counted as rejected and `note` says why.
    bool take_shared(const CertId& id, const std::string& key, const std::string& bytes, const struct QueryInput& input,
                     std::string& note);
    void deliver_shutdown(const CertId& id, const std::string& key);
    void take_lease(Mailbox& home, const CertId& id, const std::string& key, std::shared_ptr<struct QueryInput> input);
    void wait_for_holder(Mailbox& home, const CertId& id, const std::string& key,
                         std::shared_ptr<struct QueryInput> input, std::chrono::steady_clock::time_point until,
                         std::chrono::milliseconds every);
    void write_back(Mailbox& home, const CertId& id, const struct QueryResult& result);
    MethodResult record_shared_hit(const CertId& id, const Answer& answer);
    MethodResult record_query(const CertId& id, struct QueryResult result);
    void count_responder_events(const struct QueryResult& result);
    void record_recent(const struct QueryResult& result);
    void count_verdict(ChainVerdict verdict);
    void deliver_all(const std::string& key, MethodResult result);
    // The query's configuration problems not reported yet; forgets those of a responder that
    // answered.
    std::vector<ConfigProblem> new_config_problems(const struct QueryResult& result);

    struct IssuerResponders {
        tls::X509Ptr issuer;
        std::vector<Url> responders;
    };

    RevocationProfile profile_;
    bool kept_cache_ = false;        // took over the previous checker's cache (reload)
    std::string trust_fingerprint_;  // SHA-256 of the trust files' contents (cache reuse on reload)
    std::vector<Url> responders_;
    std::vector<IssuerResponders> issuer_responders_;
    std::vector<tls::X509Ptr> trusted_responders_;
    std::vector<X509*> trusted_responder_ptrs_;
    tls::SslCtxPtr https_context_;  // for https:// responders and CRL URLs
    // Decoded responder certificates and verified delegations, shared by the queries of every
    // loop (thread-safe); outlives them like trusted_responders_ (see idle()).
    ResponderCache responder_cache_;
    // Responders that refused GET, shared by the queries of every loop (thread-safe); outlives
    // them like responder_cache_.
    GetFallback get_fallback_;
    std::shared_ptr<StatusCache> cache_owner_;  // shared with the checker it replaced on reload
    StatusCache& cache_;
    CrlStore crls_;
    std::shared_ptr<CheckerStats> stats_owner_;  // likewise
    CheckerStats& stats_;
    std::mutex flights_mutex_;
    // In-flight OCSP queries by CertID (hash algorithm, issuer name and key hashes, serial):
    // the first asker runs the query, later askers only add themselves here (request
    // coalescing across loops); every one of them asks about exactly that certificate. CRL
    // downloads are coalesced inside crls_, per URL.
    std::unordered_map<std::string, std::vector<std::shared_ptr<Waiter>>> flights_;  // guarded
    // The fleet's second level between cache_ and the responders; null without [cache.shared].
    std::shared_ptr<SharedCache> shared_;
    std::mutex reported_mutex_;
    // "responder\0kind" of the configuration problems reported (guarded by reported_mutex_);
    // bounded by responders x kinds. A reload starts a new checker, so they are reported again.
    std::set<std::string> reported_problems_;
};

}  // namespace ocspgate::ocsp
