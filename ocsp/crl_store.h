// CRLs the CRL method decides with: local files (loaded at start, reloaded when changed) and
// CRLs fetched over HTTP from configured URLs or the certificate's CRL Distribution Points
// (and the delta CRLs that the certificate or those CRLs name in freshestCRL), kept until
// their nextUpdate. A fetched CRL is fetched again in the background shortly before its
// nextUpdate, conditionally (If-None-Match / If-Modified-Since), so lookups seldom wait for a
// download. Shared by every loop; CRL objects are reference-counted so a reload never frees
// one that a lookup is using.
//
// What is shared and what is not: the store holds signed CRLs, keyed by file or URL, and one
// download per URL serves every lookup waiting for it. A verdict is never shared: each lookup
// judges its own certificate (serial, issuer, scope, trust anchor) against every CRL held for
// it (crl_judge.h), after its downloads are done. What lookups leave behind is the highest
// cRLNumber of each CRL that verified (CrlHistory, rollback detection): a fact about signed
// CRLs, keyed by CRL issuer name and key, scope and kind, never a verdict.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "ocsp/checker.h"
#include "ocsp/settings.h"
#include "ocsp/crl.h"
#include "ocsp/crl_history.h"
#include "ocsp/crl_judge.h"
#include "ocsp/mailbox.h"
#include "ocsp/shared_cache/shared_cache.h"
#include "ocsp/policy.h"
#include "ocsp/step_trace.h"
#include "ocsp/url.h"
#include "tls/ossl.h"

namespace ocspgate::ocsp {

class CrlStore {
public:
    // `http_proxy`: downloads go through it (the profile's http_proxy); none: direct.
    // `trace`: where `ocspgate check` collects the steps taken (file reads, downloads,
    // judgements); null, as in the proxy, records nothing.
    CrlStore(const CrlSettings& settings, std::chrono::seconds clock_skew, std::optional<Url> http_proxy = {},
             std::shared_ptr<StepTrace> trace = {});

    // The fleet's shared cache ([cache.shared]): a download asks it first for a CRL newer than
    // the one held, and a CRL downloaded from its URL is stored there (up to
    // max_shared_crl_bytes) until its nextUpdate. Hits, misses, writes, rejected entries and
    // errors count in `stats` with the OCSP responses'. Call before any lookup.
    static constexpr std::size_t max_shared_crl_bytes = 1024 * 1024;
    void share_through(std::shared_ptr<SharedCache> shared, std::shared_ptr<CheckerStats> stats) {
        shared_ = std::move(shared);
        shared_stats_ = std::move(stats);
    }

    // Loads every configured CRL file and CRL signer file; call at start-up (not on a loop
    // thread).
    Result<Ok> load_files();
    // Re-reads files whose modification time changed; call from a non-traffic thread.
    void reload_changed_files();

    // The answer for `cert` from the CRLs held, or nullopt when one of its URLs has no
    // current CRL yet (lookup_async then downloads it). `anchor`: the trust anchor of the
    // certificate's verified chain, which a separate CRL signer must chain to (null: CRLs
    // signed by a separate signer are not used).
    std::optional<MethodResult> lookup_cached(X509* cert, X509* issuer, X509* anchor = nullptr);
    std::vector<Url> urls_for(X509* cert) const;
    // urls_for() and, when those are the certificate's own distribution points (no crl.urls
    // configured), the delta CRLs named in freshestCRL by the certificate and by the complete
    // CRLs held for it: every URL whose CRL a lookup of `cert` waits for.
    std::vector<Url> sources_for(X509* cert);
    // The certificate's CRL distribution points that are not fetched (ldap://, file://, ...;
    // Microsoft AD CS lists an ldap:// one first): its http:// ones are used instead.
    std::vector<std::string> skipped_for(X509* cert) const;
    // "skipped ldap://…" for the URLs not noted before (so each is logged once), or "".
    std::string note_skipped(const std::vector<std::string>& skipped);

    // Downloads the CRLs that `cert`'s URLs lack (one download per URL across every lookup
    // in flight), then judges `cert` alone against everything held and reports on `home`'s
    // loop. Returns how many of those downloads were already running for another lookup.
    std::size_t lookup_async(Mailbox& home, tls::X509Ptr cert, tls::X509Ptr issuer,
                             std::function<void(MethodResult)> done, tls::X509Ptr anchor = {});

    // What is held now: the files, then the downloads by URL, at most `limit` of them.
    std::vector<HeldCrlState> held(std::size_t limit);

    // No lookup or download in flight: nothing started here will touch the store again.
    bool idle();

private:
    class Lookup;    // one certificate's asynchronous lookup (crl_store.cpp)
    class Download;  // one URL's download, shared by the lookups waiting for it
    using CrlRef = std::shared_ptr<const SignedCrl>;
    // A CRL as held: the signed object and what is known about it (crl.h), prepared where it
    // was read or downloaded, off the event loops.
    struct Held {
        CrlRef crl;
        std::vector<std::string> deltas;  // the URLs of its freshestCRL, read once
        // The server's validators for it, sent back on the next download of its URL.
        std::string etag, last_modified;
        // When a refresh ahead of its nextUpdate last started; carried over to the CRL that
        // replaces it, so an unchanged CRL is not asked for again at once.
        std::chrono::steady_clock::time_point refresh_started{};
        std::chrono::steady_clock::time_point fetched_at{};  // when it was taken in (keep_fetched)
        // Taken from the shared cache and not yet confirmed by its URL: a Redis writer could
        // replay an older CRL the CA signed, so the URL is asked in the background at once.
        bool unconfirmed = false;
    };
    struct FileCrl {
        std::filesystem::path path;
        std::filesystem::file_time_type mtime;
        Held held;
    };
    static Result<Held> prepare(std::span<const std::uint8_t> bytes);
    static Result<Held> read_file(const std::filesystem::path& path);
    Result<Held> read_file_traced(const std::filesystem::path& path);
    void trace_judgement(X509* cert, const std::vector<HeldCrl>& held, const MethodResult& result,
                         const std::vector<CrlNotUsed>& not_used, TraceStep::Clock::time_point started);
    // The keys a downloaded CRL's signature is checked with once, where it is prepared (off the
    // loops): the issuer's of the certificate that asked for it, then crl.signers'.
    std::vector<tls::EvpPkeyPtr> verification_keys(X509* issuer) const;
    std::vector<HeldCrl> held_for(X509* cert, const std::vector<Url>& urls);
    bool is_signers_issuer(const X509_NAME* crl_issuer, X509* cert) const;
    std::vector<const Url*> missing(const std::vector<Url>& urls);
    MethodResult judge(X509* cert, X509* issuer, X509* anchor, const std::string& download_errors);
    void join_download(Mailbox& home, const Url& url, std::shared_ptr<Lookup> lookup, std::size_t& joined);
    // Whether a held CRL of `urls` is near enough its nextUpdate (or past it, within
    // clock_skew) to be fetched again now (refresh_due), and starting those downloads in the
    // background, with no lookup waiting: lookups keep judging with the CRL held meanwhile.
    bool refresh_due(const std::vector<Url>& urls);
    // `unconfirmed_only`: just the CRLs taken from the shared cache, right after a download.
    void start_refreshes(Mailbox& home, const std::vector<Url>& urls, X509* issuer, bool unconfirmed_only = false);
    bool due(const Held& held, std::chrono::system_clock::time_point now,
             std::chrono::steady_clock::time_point mono) const;  // under mutex_
    // Whether judging `cert` now would verify a large CRL's signature for the first time (a
    // pass over all of it): then lookup_cached() leaves it to lookup_async(), which judges on
    // the thread pool.
    bool needs_first_verification(X509* cert, X509* issuer, const std::vector<Url>& urls);
    // Both return the CRL no longer held (the one replaced, or a download older than the one
    // held), for the caller to free off the event loop.
    Held on_downloaded(const std::string& url, Result<Held> crl);
    Held keep_fetched(const std::string& url, Held crl);

    const CrlSettings& settings_;
    std::chrono::seconds clock_skew_;
    const std::optional<Url> http_proxy_;
    const std::shared_ptr<StepTrace> trace_;  // null unless `ocspgate check` asked for steps
    // crl.signers, read once by load_files(); immutable afterwards, so read without a lock.
    std::vector<tls::X509Ptr> signers_;
    std::vector<X509*> signer_ptrs_;
    CrlHistory history_;  // thread-safe
    std::mutex mutex_;
    std::set<std::string> skipped_noted_;  // under mutex_; bounded by kMaxSkippedNoted
    std::vector<FileCrl> files_;                       // guarded by mutex_
    std::unordered_map<std::string, Held> fetched_;   // by URL; guarded by mutex_
    // Downloads in flight by URL, with the lookups waiting for each; guarded by mutex_.
    std::unordered_map<std::string, std::vector<std::shared_ptr<Lookup>>> downloads_;
    std::atomic<std::size_t> lookups_in_flight_{0};
    std::shared_ptr<SharedCache> shared_;         // null: no [cache.shared]
    std::shared_ptr<CheckerStats> shared_stats_;  // with shared_
};

}  // namespace ocspgate::ocsp
