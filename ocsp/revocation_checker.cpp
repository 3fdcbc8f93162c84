#include "ocsp/revocation_checker.h"

#include <fmt/format.h>
#include <openssl/sha.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "ocsp/aia.h"
#include "ocsp/asn1_time.h"
#include "ocsp/chain_check.h"
#include "ocsp/ocsp_query.h"
#include "ocsp/shared_cache/shared_key.h"
#include "tls/certificate.h"
#include "tls/context.h"

namespace ocspgate::ocsp {
namespace {

std::string flight_key(const char* method, const std::string& id) { return std::string(method) + ":" + id; }

std::string cert_id_key(const CertId& id) {
    return std::to_string(id.hash_nid) + "/" + id.issuer_name_hash + "/" + id.issuer_key_hash + "/" + id.serial;
}

tls::X509Ptr up_ref(X509* x) {
    X509_up_ref(x);
    return tls::X509Ptr(x);
}

MethodResult from_cached(const CachedStatus& s, Clock::time_point now) {
    MethodResult r;
    switch (s.kind) {
        case CachedStatus::Kind::good: r.kind = MethodResult::Kind::good; break;
        case CachedStatus::Kind::revoked: r.kind = MethodResult::Kind::revoked; break;
        case CachedStatus::Kind::unknown: r.kind = MethodResult::Kind::unknown; break;
        case CachedStatus::Kind::error: r.kind = MethodResult::Kind::error; break;
    }
    r.source = s.source;
    r.detail = s.detail;
    r.from_cache = true;
    r.age = std::max(std::chrono::seconds(0), std::chrono::duration_cast<std::chrono::seconds>(now - s.stored_at));
    r.revoked = s.revoked;
    return r;
}

std::string join_notes(const std::string& a, const std::string& b) {
    if (a.empty()) return b;
    return b.empty() ? a : a + "; " + b;
}

// For the lookup detail: an answer accepted although it lacks our nonce (nonce = "prefer").
std::string without_nonce_note(const Answer& a) {
    return "response without nonce accepted as current (thisUpdate " + to_iso8601(a.this_update) +
           (a.next_update ? ", nextUpdate " + to_iso8601(*a.next_update) : std::string(", no nextUpdate")) + ")";
}

std::string get_refusals_note(const std::vector<GetRefusal>& refusals) {
    std::string note;
    for (const auto& r : refusals)
        note = join_notes(note, r.responder + " refused GET (" + r.reason + "), asked by POST" +
                                    (r.newly_known ? fmt::format("; POST only there for {}h", GetFallback::reprobe_after.count()) : ""));
    return note;
}

// The cache entry for a validated answer, from a responder or the shared cache.
CachedStatus answered_entry(const Answer& a, const std::string& source, std::optional<std::chrono::seconds> http_max_age,
                            const OcspSettings& o, Clock::time_point now) {
    CachedStatus entry;
    entry.stored_at = now;
    entry.kind = a.status == CertStatus::good      ? CachedStatus::Kind::good
                 : a.status == CertStatus::revoked ? CachedStatus::Kind::revoked
                                                   : CachedStatus::Kind::unknown;
    entry.source = source;
    entry.revoked = {a.revocation_time, a.revocation_reason};
    // Fresh until nextUpdate (or thisUpdate + max_age without one: RFC 5019 §4, never
    // forever), at most max_cache_ttl, and at most the HTTP max-age (RFC 5019 §6.2).
    auto until = a.next_update ? *a.next_update : a.this_update + o.max_age;
    entry.fresh_until = std::min(until, now + o.max_cache_ttl);
    if (http_max_age) entry.fresh_until = std::min(entry.fresh_until, now + *http_max_age);
    entry.stale_until = entry.fresh_until + o.stale_if_error;
    if (a.nonce == NonceEcho::missing) entry.detail = without_nonce_note(a);  // true of every use of it
    return entry;
}

// conf/ has checked the text; none when empty (or, defensively, unparsable: then direct).
std::optional<Url> proxy_url(const std::string& text) {
    if (text.empty()) return std::nullopt;
    auto url = parse_url(text);
    if (!url) return std::nullopt;
    return std::move(url).value();
}

}  // namespace

RevocationChecker::RevocationChecker(const RevocationProfile& profile, std::shared_ptr<StatusCache> cache,
                                     std::shared_ptr<CheckerStats> stats, std::shared_ptr<StepTrace> crl_trace)
    : profile_(profile),
      cache_owner_(std::move(cache)),
      cache_(*cache_owner_),
      crls_(profile_.crl, std::chrono::duration_cast<std::chrono::seconds>(profile_.ocsp.clock_skew),
            proxy_url(profile_.http_proxy), std::move(crl_trace)),
      stats_owner_(std::move(stats)),
      stats_(*stats_owner_) {}

// The bytes of every file whose contents decide whether a response is trusted: a reload that
// keeps the paths but replaces a trusted responder or issuer certificate is a new trust.
std::string RevocationChecker::trust_fingerprint(const RevocationProfile& profile) {
    std::string all;
    auto add = [&all](const std::filesystem::path& path) {
        std::ifstream in(path, std::ios::binary);
        all += path.string() + '\0' + std::string(std::istreambuf_iterator<char>(in), {}) + '\0';
    };
    for (const auto& path : profile.ocsp.responder_trust) add(path);
    for (const auto& issuer : profile.ocsp.issuers) add(issuer.certificate);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(all.data()), all.size(), digest);
    return {reinterpret_cast<const char*>(digest), sizeof digest};
}

Result<std::unique_ptr<RevocationChecker>> RevocationChecker::create(const RevocationProfile& profile,
                                                                     const RevocationChecker* previous,
                                                                     std::shared_ptr<SharedCache> shared,
                                                                     std::shared_ptr<StepTrace> crl_trace) {
    // The cache holds verdicts, and a changed profile or trust file may change what an answer
    // means (trust, unknown policy, methods): only an identical one may reuse them.
    auto fingerprint = trust_fingerprint(profile);
    const bool same = previous && previous->profile_ == profile && previous->trust_fingerprint_ == fingerprint;
    auto cache = same ? previous->cache_owner_ : std::make_shared<StatusCache>(profile.ocsp.cache_entries);
    auto stats = previous ? previous->stats_owner_ : std::make_shared<CheckerStats>();
    std::unique_ptr<RevocationChecker> checker(
        new RevocationChecker(profile, std::move(cache), std::move(stats), std::move(crl_trace)));
    checker->trust_fingerprint_ = std::move(fingerprint);
    checker->kept_cache_ = same;
    if (shared) checker->crls_.share_through(shared, checker->stats_owner_);
    checker->shared_ = std::move(shared);
    if (auto r = checker->load_files(); !r) return std::move(r).error();
    return checker;
}

Result<Ok> RevocationChecker::load_files() {
    const std::string where = "revocation." + profile_.name + ": ";
    for (const auto& text : profile_.ocsp.responders) {
        auto url = parse_url(text);
        if (!url) return make_error(Errc::config, where + url.error().message);
        responders_.push_back(std::move(url).value());
    }
    for (const auto& path : profile_.ocsp.responder_trust) {
        auto certs = tls::load_certificates(path);
        if (!certs) return make_error(Errc::config, where + certs.error().message);
        for (auto& c : *certs) trusted_responders_.push_back(std::move(c));
    }
    for (const auto& c : trusted_responders_) trusted_responder_ptrs_.push_back(c.get());
    for (const auto& entry : profile_.ocsp.issuers) {
        auto certs = tls::load_certificates(entry.certificate);
        if (!certs) return make_error(Errc::config, where + certs.error().message);
        IssuerResponders ir;
        ir.issuer = std::move(certs->front());
        for (const auto& text : entry.responders) {
            auto url = parse_url(text);
            if (!url) return make_error(Errc::config, where + url.error().message);
            ir.responders.push_back(std::move(url).value());
        }
        issuer_responders_.push_back(std::move(ir));
    }
    if (auto r = crls_.load_files(); !r) return make_error(Errc::config, where + r.error().message);
    tls::HttpsClientOptions https{profile_.ocsp.tls_ca, profile_.ocsp.tls_certificate, profile_.ocsp.tls_private_key};
    auto context = tls::make_https_client_context(https);
    if (!context) return make_error(Errc::config, where + context.error().message);
    https_context_ = std::move(context).value();
    return Ok{};
}

Result<std::vector<CertPair>> RevocationChecker::targets(STACK_OF(X509) * chain) const {
    std::vector<CertPair> pairs;
    int n = sk_X509_num(chain);
    // The verified chain runs leaf .. trust anchor; the anchor itself is never checked.
    int last = profile_.check == CheckScope::leaf ? std::min(1, n - 1) : n - 1;
    for (int i = 0; i < last; ++i) {
        X509* cert = sk_X509_value(chain, i);
        X509* issuer = sk_X509_value(chain, i + 1);
        auto id = make_cert_id(cert, issuer);
        if (!id) return std::move(id).error();
        pairs.push_back(CertPair{up_ref(cert), up_ref(issuer), std::move(id).value(), up_ref(sk_X509_value(chain, n - 1))});
    }
    return pairs;
}

std::vector<Url> RevocationChecker::responders_for(const CertPair& pair) const {
    const std::vector<Url>* configured = &responders_;
    for (const auto& ir : issuer_responders_)
        if (X509_cmp(ir.issuer.get(), pair.issuer.get()) == 0) configured = &ir.responders;
    std::vector<Url> from_aia;
    if (profile_.ocsp.use_aia)
        for (const auto& text : ocsp_urls(pair.cert.get()))
            if (auto u = parse_url(text)) from_aia.push_back(std::move(u).value());
    std::vector<Url> ordered;
    auto add = [&](const std::vector<Url>& urls) {
        for (const auto& u : urls)
            if (std::none_of(ordered.begin(), ordered.end(), [&](const Url& o) { return o.text == u.text; }))
                ordered.push_back(u);
    };
    bool aia_first = profile_.ocsp.prefer == ResponderPreference::aia;
    add(aia_first ? from_aia : *configured);
    add(aia_first ? *configured : from_aia);
    return ordered;
}

std::optional<MethodResult> RevocationChecker::lookup_cached(RevocationMethod method, const CertPair& pair) {
    switch (method) {
        case RevocationMethod::none: {
            MethodResult accepted_unchecked;
            accepted_unchecked.kind = MethodResult::Kind::good;
            accepted_unchecked.source = "none";
            return accepted_unchecked;
        }
        case RevocationMethod::ocsp: return ocsp_cached(pair);
        case RevocationMethod::crl: {
            auto result = crls_.lookup_cached(pair.cert.get(), pair.issuer.get(), pair.anchor.get());
            if (!result) return result;  // lookup_async counts it
            stats_.lookups.fetch_add(1, std::memory_order_relaxed);
            if (result->kind == MethodResult::Kind::error) stats_.count_crl_no_answer(result->no_answer);
            return result;
        }
    }
    return std::nullopt;
}

// A miss is not counted here: a handshake probes the cache twice on a miss (decide_cached in
// the verify callback, then check()), so lookup_async counts lookups that leave the cache.
std::optional<MethodResult> RevocationChecker::ocsp_cached(const CertPair& pair) {
    auto now = Clock::now();
    if (auto hit = cache_.find_fresh(pair.id, now)) {
        stats_.lookups.fetch_add(1, std::memory_order_relaxed);
        stats_.cache_hits.fetch_add(1, std::memory_order_relaxed);
        if (hit->kind == CachedStatus::Kind::error) {
            if (auto stale = cache_.find_stale_good(pair.id, now)) {
                stats_.stale_used.fetch_add(1, std::memory_order_relaxed);
                MethodResult r = from_cached(*stale, now);
                r.detail = "stale good answer used: responders failing (" + hit->detail + ")";
                return r;
            }
        }
        return from_cached(*hit, now);
    }
    return std::nullopt;
}

void RevocationChecker::lookup_async(RevocationMethod method, const CertPair& pair, std::shared_ptr<Waiter> waiter,
                                     Deadline share_ends) {
    stats_.lookups.fetch_add(1, std::memory_order_relaxed);
    if (method == RevocationMethod::ocsp) {
        stats_.cache_misses.fetch_add(1, std::memory_order_relaxed);
        return ocsp_async(pair, std::move(waiter), share_ends);
    }
    // A CRL download is shared per URL; the verdict is not: the store judges each
    // certificate on its own once the CRLs it needs are held.
    auto joined = crls_.lookup_async(*waiter->home, up_ref(pair.cert.get()), up_ref(pair.issuer.get()),
                                     [this, waiter](MethodResult r) {
                                         // The lookup keeps this checker alive until it reports (idle()).
                                         if (r.kind == MethodResult::Kind::error) stats_.count_crl_no_answer(r.no_answer);
                                         if (!waiter->cancelled) waiter->deliver(std::move(r));
                                     },
                                     pair.anchor ? up_ref(pair.anchor.get()) : tls::X509Ptr{});
    if (joined > 0) stats_.coalesced.fetch_add(1, std::memory_order_relaxed);
}

void RevocationChecker::ocsp_async(const CertPair& pair, std::shared_ptr<Waiter> waiter, Deadline share_ends) {
    std::string key = flight_key("ocsp", cert_id_key(pair.id));
    {
        std::lock_guard lock(flights_mutex_);
        auto& waiting = flights_[key];
        waiting.push_back(waiter);
        if (waiting.size() > 1) return (void)stats_.coalesced.fetch_add(1, std::memory_order_relaxed);
    }
    QueryInput input{up_ref(pair.cert.get()), up_ref(pair.issuer.get()), responders_for(pair), trusted_responder_ptrs_,
                     https_context_.get(), &responder_cache_, &get_fallback_, share_ends,
                     proxy_url(profile_.http_proxy)};
    // The flight's leader asks the shared cache, so N handshakes waiting for one CertID cost
    // one GET, as they cost one responder query.
    if (uses_shared_cache())
        return shared_lookup(*waiter->home, pair.id, key, std::make_shared<QueryInput>(std::move(input)));
    start_query(*waiter->home, pair.id, key, std::move(input), {});
}

// A stored response cannot echo a nonce of this request: a profile that requires one never
// takes (nor gives) shared answers.
bool RevocationChecker::uses_shared_cache() const { return shared_ && profile_.ocsp.nonce != NonceMode::require; }

void RevocationChecker::shared_lookup(Mailbox& home, const CertId& id, const std::string& key,
                                      std::shared_ptr<QueryInput> input) {
    auto started = std::chrono::steady_clock::now();
    shared_->get(home, shared_key(shared_->settings().key_prefix, id), [this, &home, id, key, input, started](RedisGet got) {
        stats_.shared_latency.observe(
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started));
        std::string note;
        switch (got.outcome) {
            case RedisGet::Outcome::value:
                if (take_shared(id, key, got.value, *input, note)) return;
                break;
            case RedisGet::Outcome::absent:
                stats_.shared_misses.fetch_add(1, std::memory_order_relaxed);
                if (shared_->settings().lease.count() > 0) return take_lease(home, id, key, input);
                break;
            case RedisGet::Outcome::shutdown: return deliver_shutdown(id, key);
            default:
                // Down, slow or full: the lookup goes on as if the entry were absent.
                stats_.count_shared(&CheckerStats::shared_errors, to_string(got.outcome));
                note = std::string("shared cache unavailable (") + to_string(got.outcome) + ": " + got.error + ")";
                break;
        }
        start_query(home, id, key, std::move(*input), std::move(note));
    });
}

bool RevocationChecker::take_shared(const CertId& id, const std::string& key, const std::string& bytes,
                                    const QueryInput& input, std::string& note) {
    std::span<const std::uint8_t> der(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    Validation v = validate_stored_response(der, input, profile_.ocsp, id);
    const auto* answer = std::get_if<Answer>(&v);
    if (answer && (answer->status == CertStatus::good || answer->status == CertStatus::revoked)) {
        stats_.shared_hits.fetch_add(1, std::memory_order_relaxed);
        deliver_all(key, record_shared_hit(id, *answer));
        return true;
    }
    // Forged, truncated, stale, for another certificate, or a status we never store: refused,
    // counted, and replaced by the responder's answer.
    const auto* failure = std::get_if<ResponseFailure>(&v);
    std::string reason = failure ? to_string(failure->kind) : "unusable";
    stats_.count_shared(&CheckerStats::shared_rejected, reason);
    note = "shared cache entry rejected (" + reason +
           (failure && !failure->detail.empty() ? ": " + failure->detail : std::string()) + ")";
    return false;
}

void RevocationChecker::deliver_shutdown(const CertId& id, const std::string& key) {
    QueryResult aborted;
    aborted.errors = "-: worker shutting down";
    aborted.error_kinds = {"shutdown"};
    aborted.failed_responders = {"-"};
    deliver_all(key, record_query(id, std::move(aborted)));
}

namespace {

// How long a lookup waits for the lease holder's answer: at most the lease, and at most half
// of what is left of its share (ocsp/budget.h), so that asking the responder itself after all
// still has time.
std::chrono::steady_clock::time_point lease_wait_end(Duration lease, Deadline share_ends,
                                                     std::chrono::steady_clock::time_point now) {
    if (share_ends == no_deadline) return now + lease;
    return now + std::min<Duration>(lease, time_left(share_ends, now) / 2);
}

// Polls of Redis while waiting: about ten per lease, between 5 and 50 ms apart.
std::chrono::milliseconds lease_poll_interval(Duration lease) {
    using std::chrono::milliseconds;
    return std::clamp<milliseconds>(lease / 10, milliseconds(5), milliseconds(50));
}

}  // namespace

// Coalescing across the fleet: after a miss, the instance that takes the lease asks the
// responder (and writes the answer back as always); the others poll Redis for that answer
// within the lease and their share, then ask the responder themselves. Redis failing at any
// step means "as if absent": the responder is asked at once.
void RevocationChecker::take_lease(Mailbox& home, const CertId& id, const std::string& key,
                                   std::shared_ptr<QueryInput> input) {
    const auto& settings = shared_->settings();
    std::string lease_key = shared_key(settings.key_prefix, id) + ":lease";
    auto taken = [this, &home, id, key, input](RedisGet got) {
        const Duration lease = shared_->settings().lease;
        switch (got.outcome) {
            case RedisGet::Outcome::value:
                stats_.lease_won.fetch_add(1, std::memory_order_relaxed);
                return start_query(home, id, key, std::move(*input), {});
            case RedisGet::Outcome::absent: {
                stats_.lease_waits.fetch_add(1, std::memory_order_relaxed);
                auto now = std::chrono::steady_clock::now();
                return wait_for_holder(home, id, key, input, lease_wait_end(lease, input->deadline, now),
                                       lease_poll_interval(lease));
            }
            case RedisGet::Outcome::shutdown: return deliver_shutdown(id, key);
            default:
                stats_.count_shared(&CheckerStats::shared_errors, to_string(got.outcome));
                return start_query(home, id, key, std::move(*input),
                                   std::string("shared cache lease unavailable (") + to_string(got.outcome) + ": " +
                                       got.error + ")");
        }
    };
    shared_->set_if_absent(home, lease_key, shared_->instance_id(), settings.lease, std::move(taken));
}

void RevocationChecker::wait_for_holder(Mailbox& home, const CertId& id, const std::string& key,
                                        std::shared_ptr<QueryInput> input, std::chrono::steady_clock::time_point until,
                                        std::chrono::milliseconds every) {
    auto now = std::chrono::steady_clock::now();
    if (now >= until) {
        stats_.lease_waits_fell_back.fetch_add(1, std::memory_order_relaxed);
        return start_query(home, id, key, std::move(*input),
                           "shared cache: another instance held the lease and its answer did not appear in time");
    }
    auto delay = std::min(every, std::chrono::ceil<std::chrono::milliseconds>(until - now));
    std::string entry = shared_key(shared_->settings().key_prefix, id);
    shared_->get_after(home, delay, entry, [this, &home, id, key, input, until, every](RedisGet got) {
        std::string note;
        switch (got.outcome) {
            case RedisGet::Outcome::value:
                if (take_shared(id, key, got.value, *input, note)) {
                    stats_.lease_waits_answered.fetch_add(1, std::memory_order_relaxed);
                    return;
                }
                break;
            case RedisGet::Outcome::absent: return wait_for_holder(home, id, key, input, until, every);
            case RedisGet::Outcome::shutdown: return deliver_shutdown(id, key);
            default:
                stats_.count_shared(&CheckerStats::shared_errors, to_string(got.outcome));
                note = std::string("shared cache unavailable (") + to_string(got.outcome) + ": " + got.error + ")";
                break;
        }
        stats_.lease_waits_fell_back.fetch_add(1, std::memory_order_relaxed);
        start_query(home, id, key, std::move(*input), std::move(note));
    });
}

void RevocationChecker::start_query(Mailbox& home, const CertId& id, const std::string& key, QueryInput input,
                                    std::string note) {
    stats_.responder_queries.fetch_add(1, std::memory_order_relaxed);
    start_ocsp_query(home, std::move(input), profile_.ocsp,
                     [this, &home, id, key, note = std::move(note)](QueryResult result) {
                         write_back(home, id, result);
                         MethodResult r = record_query(id, std::move(result));
                         r.detail = join_notes(r.detail, note);
                         deliver_all(key, r);
                     });
}

// A good or revoked answer that validated goes to the shared cache exactly as signed, until
// its nextUpdate (at most max_ttl); failures and unknown answers are never shared.
void RevocationChecker::write_back(Mailbox& home, const CertId& id, const QueryResult& result) {
    if (!uses_shared_cache() || !result.answered || result.der.empty()) return;
    auto ttl = shared_ttl(result.answer, std::chrono::system_clock::now(), shared_->settings().max_ttl);
    if (!ttl) return;
    std::string value(reinterpret_cast<const char*>(result.der.data()), result.der.size());
    // The reply may come after this checker was retired by a reload: it holds the counters,
    // which outlive it, not the checker.
    auto stats = stats_owner_;
    auto stored = [stats](bool ok) {
        if (ok)
            stats->shared_writes.fetch_add(1, std::memory_order_relaxed);
        else
            stats->count_shared(&CheckerStats::shared_errors, "write");
    };
    if (!shared_->set(home, shared_key(shared_->settings().key_prefix, id), value, *ttl, stored)) stored(false);
}

MethodResult RevocationChecker::record_shared_hit(const CertId& id, const Answer& a) {
    auto now = Clock::now();
    CachedStatus entry = answered_entry(a, "shared_cache", std::nullopt, profile_.ocsp, now);
    cache_.store(id, entry, now);
    MethodResult r = from_cached(entry, now);
    r.from_cache = false;
    r.answer = a;
    return r;
}

MethodResult RevocationChecker::record_query(const CertId& id, QueryResult result) {
    auto now = Clock::now();
    const auto& o = profile_.ocsp;
    count_responder_events(result);
    stats_.responder_latency.observe(result.latency);
    CachedStatus entry;
    entry.stored_at = now;
    if (result.answered) {
        entry = answered_entry(result.answer, result.source, result.http_max_age, o, now);
    } else {
        entry.kind = CachedStatus::Kind::error;
        entry.source = "ocsp";
        entry.detail = result.errors;
        entry.fresh_until = now + o.error_cache_ttl;
    }
    cache_.store(id, entry, now);
    MethodResult r = from_cached(entry, now);
    r.from_cache = false;
    if (entry.kind == CachedStatus::Kind::error) {
        if (auto stale = cache_.find_stale_good(id, now)) {
            stats_.stale_used.fetch_add(1, std::memory_order_relaxed);
            r = from_cached(*stale, now);
            r.detail = "stale good answer used: responders failing (" + result.errors + ")";
        }
    } else {
        r.answer = result.answer;
        if (!result.get_refusals.empty())  // this lookup's story, not the cached answer's
            r.detail = join_notes(r.detail, get_refusals_note(result.get_refusals));
    }
    r.config_problems = new_config_problems(result);  // also when a stale answer stands in
    return r;
}

void RevocationChecker::count_responder_events(const QueryResult& result) {
    {
        std::lock_guard lock(stats_.errors_mutex);
        for (const auto& kind : result.error_kinds) ++stats_.responder_errors[kind];
    }
    for (const auto& url : result.nonce_missing_from) stats_.count_for_responder(url, &ResponderCounts::nonce_missing);
    for (const auto& refusal : result.get_refusals) stats_.count_for_responder(refusal.responder, &ResponderCounts::get_refused);
    record_recent(result);
}

// A refused GET is asked again by POST at once, and a shutdown says nothing about the
// responder: neither is a failure of the responder for its health.
void RevocationChecker::record_recent(const QueryResult& result) {
    auto now = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < result.error_kinds.size() && i < result.failed_responders.size(); ++i) {
        const std::string& kind = result.error_kinds[i];
        const std::string& url = result.failed_responders[i];
        if (kind == "get_refused" || kind == "shutdown" || url == "-" || url == "request") continue;
        stats_.recent.record_attempt(url, i < result.failed_at.size() ? result.failed_at[i] : now, kind);
    }
    if (result.answered)
        stats_.recent.record_attempt(
            result.source, result.answered_at == std::chrono::steady_clock::time_point{} ? now : result.answered_at, "");
    stats_.recent.record_query(now, result.answered);
}

std::vector<ConfigProblem> RevocationChecker::new_config_problems(const QueryResult& result) {
    std::vector<ConfigProblem> fresh;
    std::lock_guard lock(reported_mutex_);
    if (result.answered)  // it works again: a later failure is news
        std::erase_if(reported_problems_, [&](const std::string& key) { return key.starts_with(result.source + '\0'); });
    for (const auto& p : result.config_problems)
        if (reported_problems_.insert(p.responder + '\0' + p.kind).second) fresh.push_back(p);
    return fresh;
}

void RevocationChecker::deliver_all(const std::string& key, MethodResult result) {
    std::vector<std::shared_ptr<Waiter>> waiting;
    {
        std::lock_guard lock(flights_mutex_);
        auto it = flights_.find(key);
        if (it == flights_.end()) return;
        waiting.swap(it->second);
        flights_.erase(it);
    }
    // Every waiter hears on its own loop, after this callback has unwound; only the first
    // reports the configuration problems, so they are logged once.
    for (auto& w : waiting) {
        w->home->post([w, result] {
            if (!w->cancelled) w->deliver(result);
        });
        result.config_problems.clear();
    }
}

// No lookup in flight: nothing started by this checker can call back into it any more.
bool RevocationChecker::idle() {
    {
        std::lock_guard lock(flights_mutex_);
        if (!flights_.empty()) return false;
    }
    return crls_.idle();
}

std::optional<Decision> RevocationChecker::decide_cached(STACK_OF(X509) * chain) {
    auto decision = ChainCheck::decide_from_cache(*this, chain);
    if (decision) count_verdict(decision->verdict);
    return decision;
}

std::unique_ptr<CheckHandle> RevocationChecker::check(Mailbox& home, STACK_OF(X509) * chain, Deadline deadline,
                                                      Callback done) {
    return ChainCheck::start(*this, home, chain, deadline, [this, done = std::move(done)](Decision d) {
        count_verdict(d.verdict);
        done(std::move(d));
    });
}

void RevocationChecker::count_verdict(ChainVerdict v) {
    switch (v) {
        case ChainVerdict::accept: stats_.verdict_accept.fetch_add(1, std::memory_order_relaxed); break;
        case ChainVerdict::revoked: stats_.verdict_revoked.fetch_add(1, std::memory_order_relaxed); break;
        case ChainVerdict::unknown: stats_.verdict_unknown.fetch_add(1, std::memory_order_relaxed); break;
        case ChainVerdict::undetermined: stats_.verdict_undetermined.fetch_add(1, std::memory_order_relaxed); break;
    }
}

}  // namespace ocspgate::ocsp
