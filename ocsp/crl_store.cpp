#include "ocsp/crl_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string_view>

#include "ocsp/aia.h"
#include "ocsp/asn1_time.h"
#include "ocsp/crl.h"
#include "ocsp/http_fetch.h"
#include "ocsp/low_priority.h"
#include "ocsp/shared_cache/shared_key.h"
#include "tls/certificate.h"

namespace ocspgate::ocsp {
namespace {

// A CRL at least this large is never verified for the first time on an event loop: its
// first judgement runs on libuv's thread pool (a 20 MB CRL takes ~10 ms to verify).
constexpr std::size_t kLargeCrlBytes = 256 * 1024;

// A fetched CRL is fetched again in the background once less than a tenth of its validity
// period (thisUpdate to nextUpdate) is left, at most an hour before its nextUpdate: CAs
// publish the next CRL before the current one expires, and lookups then never wait for the
// download. While the server keeps answering with the same CRL (304 Not Modified, or the same
// one again), it is asked again every eighth of that margin, and not more often than every
// 10 seconds.
constexpr auto kMaxRefreshMargin = std::chrono::hours(1);
// A CRL without nextUpdate (not conforming, but seen) promises nothing: fetched again hourly.
constexpr auto kNoNextUpdateRefresh = std::chrono::hours(1);
constexpr auto kMinRefreshSpacing = std::chrono::seconds(10);

std::string join(const std::vector<std::string>& texts) {
    std::string out;
    for (const auto& t : texts) out += (out.empty() ? "" : ", ") + t;
    return out;
}

}  // namespace

// Reads the CRL (SignedCrl: header decoded, entries indexed, extensions scanned): the work a
// large CRL costs once.
// Runs wherever the bytes are, never on an event loop for a download (Download below).
Result<CrlStore::Held> CrlStore::prepare(std::span<const std::uint8_t> bytes) {
    auto crl = SignedCrl::read(bytes);
    if (!crl) return std::move(crl).error();
    Held held;
    held.crl = std::move(crl).value();
    held.deltas = freshest_crl_urls(held.crl->header());
    return held;
}

Result<CrlStore::Held> CrlStore::read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(Errc::io, "cannot read CRL file " + path.string());
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto held = prepare(bytes);
    if (!held) return make_error(Errc::parse, path.string() + ": " + held.error().message);
    return held;
}

CrlStore::CrlStore(const CrlSettings& settings, std::chrono::seconds clock_skew, std::optional<Url> http_proxy,
                   std::shared_ptr<StepTrace> trace)
    : settings_(settings), clock_skew_(clock_skew), http_proxy_(std::move(http_proxy)), trace_(std::move(trace)) {}

Result<CrlStore::Held> CrlStore::read_file_traced(const std::filesystem::path& path) {
    if (!trace_) return read_file(path);
    const auto started = TraceStep::Clock::now();
    auto held = read_file(path);
    TraceStep step{"file", path.string(), held ? "read" : held.error().message, started, TraceStep::Clock::now(),
                   {}, {}};
    if (held) step.bytes = held->crl->bytes();
    trace_->add(std::move(step));
    return held;
}

Result<Ok> CrlStore::load_files() {
    for (const auto& path : settings_.signers) {
        auto certs = tls::load_certificates(path);
        if (!certs) return std::move(certs).error();
        for (auto& cert : *certs) signers_.push_back(std::move(cert));
    }
    for (const auto& cert : signers_) signer_ptrs_.push_back(cert.get());
    std::vector<FileCrl> loaded;
    for (const auto& path : settings_.files) {
        auto crl = read_file_traced(path);
        if (!crl) return std::move(crl).error();
        std::error_code ec;
        loaded.push_back({path, std::filesystem::last_write_time(path, ec), std::move(crl).value()});
    }
    std::lock_guard lock(mutex_);
    files_ = std::move(loaded);
    return Ok{};
}

void CrlStore::reload_changed_files() {
    std::vector<std::pair<std::filesystem::path, std::filesystem::file_time_type>> snapshot;
    {
        std::lock_guard lock(mutex_);
        for (const auto& f : files_) snapshot.emplace_back(f.path, f.mtime);
    }
    for (const auto& [path, old_mtime] : snapshot) {
        std::error_code ec;
        auto mtime = std::filesystem::last_write_time(path, ec);
        if (ec || mtime == old_mtime) continue;
        auto crl = read_file_traced(path);
        if (!crl) continue;  // keep the previous CRL until the file is whole and valid again
        std::lock_guard lock(mutex_);
        for (auto& f : files_)
            if (f.path == path) {
                f.held = std::move(crl).value();
                f.mtime = mtime;
            }
    }
}

namespace {

bool is_current(X509_CRL* crl, std::chrono::system_clock::time_point now, std::chrono::seconds skew) {
    const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl);
    if (next == nullptr) return true;  // no promise of a next one: kept until replaced
    auto t = to_time_point(next);
    return t && *t >= now - skew;
}

std::chrono::system_clock::time_point this_update_of(X509_CRL* crl) {
    return to_time_point(X509_CRL_get0_lastUpdate(crl)).value_or(std::chrono::system_clock::time_point{});
}

// Drops a CRL that is no longer held off the event loop: freeing 500 000 entries took 0.4 s of
// the loop's CPU at a swap (perf/RESULTS.md, 2026-12-07), every handshake on the loop waiting
// meanwhile. On the low-priority thread, without holding a thread of libuv's pool (a download
// or a DNS lookup may need one); on the pool if that thread cannot be had. A lookup still
// judging with it keeps it alive; the last one to finish then frees it on its own loop (a
// judgement racing a swap: rare).
template <typename Held>
void release_off_loop(uv_loop_t* loop, Held old) {
    if (!old.crl || old.crl->bytes() < kLargeCrlBytes) return;  // small: freed here, at once
    auto held = std::make_shared<Held>(std::move(old));
    if (post_at_low_priority([held] { *held = Held{}; })) return;
    struct Job {
        uv_work_t work{};
        Held held;
    };
    auto* job = new Job{{}, std::move(*held)};
    job->work.data = job;
    auto run = [](uv_work_t* w) { static_cast<Job*>(w->data)->held = Held{}; };
    auto after = [](uv_work_t* w, int) { delete static_cast<Job*>(w->data); };
    if (uv_queue_work(loop, &job->work, run, after) != 0) delete job;  // no thread pool: here
}

}  // namespace

// One certificate's lookup: counts down the downloads it waits for, then judges its own
// certificate. Lives on its home loop (every call arrives through the home Mailbox); owned by
// the downloads' waiter lists and the tasks posted to it.
class CrlStore::Lookup : public std::enable_shared_from_this<CrlStore::Lookup> {
public:
    Lookup(CrlStore& store, Mailbox& home, tls::X509Ptr cert, tls::X509Ptr issuer, tls::X509Ptr anchor,
           std::function<void(MethodResult)> done, std::size_t downloads)
        : store_(store), home_(home), cert_(std::move(cert)), issuer_(std::move(issuer)), anchor_(std::move(anchor)),
          done_(std::move(done)), remaining_(downloads) {
        store_.lookups_in_flight_.fetch_add(1);
    }
    ~Lookup() { store_.lookups_in_flight_.fetch_sub(1); }
    Lookup(const Lookup&) = delete;
    Lookup& operator=(const Lookup&) = delete;

    Mailbox& home() { return home_; }
    X509* issuer() const { return issuer_.get(); }

    // A download this lookup waits for; it is not started again by follow_deltas().
    void attempting(const std::string& url) { attempted_.insert(url); }

    void on_download(const std::string& error) {
        if (!error.empty()) errors_ += (errors_.empty() ? "" : "; ") + error;
        if (remaining_ > 0 && --remaining_ > 0) return;
        if (!done_) return;
        if (follow_deltas()) return;
        // A CRL the downloads just took from the shared cache is confirmed by its URL at once.
        store_.start_refreshes(home_, store_.sources_for(cert_.get()), issuer_.get(), /*unconfirmed_only=*/true);
        if (!store_.needs_first_verification(cert_.get(), issuer_.get(), store_.sources_for(cert_.get())))
            return deliver(store_.judge(cert_.get(), issuer_.get(), anchor_.get(), errors_));
        judge_off_loop();
    }

private:
    // The complete CRLs just downloaded may name delta CRLs (freshestCRL) that are not held:
    // one more round of downloads for those, once (a delta names no further CRLs, §5.2.6).
    bool follow_deltas() {
        if (followed_) return false;
        followed_ = true;
        const auto sources = store_.sources_for(cert_.get());
        std::vector<const Url*> more;
        for (const Url* url : store_.missing(sources))
            if (!attempted_.contains(url->text)) more.push_back(url);
        if (more.empty()) return false;
        remaining_ = more.size();
        std::size_t joined = 0;
        for (const Url* url : more) {
            attempting(url->text);
            store_.join_download(home_, *url, shared_from_this(), joined);
        }
        return true;
    }

    void deliver(MethodResult result) {
        auto done = std::move(done_);
        if (done) done(std::move(result));
    }

    // A large CRL's first verification (a pass over all of it) on libuv's thread pool; the
    // judgement is pure and the store thread-safe. The job keeps this lookup (and so the
    // checker, see idle()) alive until it is back on the home loop.
    void judge_off_loop() {
        struct Job {
            uv_work_t work{};
            std::shared_ptr<Lookup> lookup;
            MethodResult result;
        };
        auto* job = new Job{{}, shared_from_this(), {}};
        job->work.data = job;
        auto run = [](uv_work_t* w) {
            auto* j = static_cast<Job*>(w->data);
            Lookup& l = *j->lookup;
            j->result = l.store_.judge(l.cert_.get(), l.issuer_.get(), l.anchor_.get(), l.errors_);
        };
        auto after = [](uv_work_t* w, int) {
            std::unique_ptr<Job> j(static_cast<Job*>(w->data));
            j->lookup->deliver(std::move(j->result));
        };
        if (uv_queue_work(home_.loop(), &job->work, run, after) != 0) {
            std::unique_ptr<Job> j(job);
            deliver(store_.judge(cert_.get(), issuer_.get(), anchor_.get(), errors_));
        }
    }

    CrlStore& store_;
    Mailbox& home_;
    tls::X509Ptr cert_, issuer_, anchor_;  // anchor_ may be null
    std::function<void(MethodResult)> done_;
    std::size_t remaining_;
    std::string errors_;  // "URL: what failed; ..."
    std::set<std::string> attempted_;  // URLs downloaded (or tried) for this lookup
    bool followed_ = false;            // follow_deltas() has run
};

// One CRL download on the loop of the lookup that started it; owns itself until done. The
// CRL is kept as it arrived (a signed object): each lookup verifies it for its own
// certificate.
class CrlStore::Download {
public:
    // `keys`: what the CRL's signature is checked with once it is prepared (verification_keys).
    // `background`: no lookup waits for it (a refresh), so it is prepared at the lowest CPU
    // priority; one that handshakes wait for is prepared at the pool's.
    static void start(CrlStore& store, Mailbox& home, const Url& url, std::vector<tls::EvpPkeyPtr> keys,
                      bool background) {
        auto* d = new Download(store, home, url.text, std::move(keys), background);
        if (store.trace_) d->started_ = TraceStep::Clock::now();
        d->close_hook_ = home.add_close_hook([d] {
            d->fetch_.cancel();
            d->finish(make_error(Errc::io, "worker shutting down"));
        });
        HttpRequest req;
        req.method = HttpRequest::Method::get;
        req.url = url;
        req.proxy = store.http_proxy_;
        {
            std::lock_guard lock(store.mutex_);
            if (auto it = store.fetched_.find(url.text); it != store.fetched_.end() && it->second.crl) {
                req.if_none_match = it->second.etag;
                req.if_modified_since = it->second.last_modified;
            }
        }
        d->conditional_ = !req.if_none_match.empty() || !req.if_modified_since.empty();
        d->request_ = std::move(req);
        d->limits_.timeout = store.settings_.timeout;
        d->limits_.max_body = store.settings_.max_size;
        if (store.shared_) return d->ask_shared();
        d->fetch();
    }

private:
    Download(CrlStore& store, Mailbox& home, std::string url, std::vector<tls::EvpPkeyPtr> keys, bool background)
        : store_(store), home_(home), url_(std::move(url)), keys_(std::move(keys)), background_(background) {}

    void fetch() {
        auto started = start_fetch(home_.loop(), request_, limits_, [this](Result<HttpResponse> r) { on_response(std::move(r)); });
        if (!started) return finish(std::move(started).error());
        fetch_ = std::move(started).value();
    }

    // The fleet's copy first: another instance may have fetched a newer CRL than the one held.
    void ask_shared() {
        asking_shared_ = true;
        store_.shared_->get(home_, shared_crl_key(store_.shared_->settings().key_prefix, url_),
                            [this](RedisGet got) { on_shared(std::move(got)); });
    }

    void on_shared(RedisGet got) {
        asking_shared_ = false;
        if (finished_) {  // the worker shut down meanwhile
            if (!working_) delete this;
            return;
        }
        CheckerStats& stats = *store_.shared_stats_;
        switch (got.outcome) {
            case RedisGet::Outcome::value:
                from_shared_ = true;
                body_.assign(got.value.begin(), got.value.end());
                return prepare_async();
            case RedisGet::Outcome::absent: stats.shared_misses.fetch_add(1, std::memory_order_relaxed); break;
            case RedisGet::Outcome::shutdown: return finish(make_error(Errc::io, "worker shutting down"));
            default: stats.count_shared(&CheckerStats::shared_errors, to_string(got.outcome)); break;
        }
        fetch();  // down, slow or full: as if absent
    }

    // A CRL from the shared cache is used only when it is newer than the one held, current, and
    // signed by a key the CRL's own download would be checked with; else the URL is asked.
    std::optional<std::string> refuse_shared(const Held& crl) const {
        const auto now = std::chrono::system_clock::now();
        if (X509_CRL_get0_nextUpdate(crl.crl->header()) == nullptr) return "no_next_update";  // never stored so
        if (!is_current(crl.crl->header(), now, std::chrono::seconds{0})) return "expired";
        bool signed_ok = false;
        for (const auto& key : keys_) signed_ok = signed_ok || crl.crl->signature_verifies(key.get());
        if (!signed_ok) return "bad_signature";
        std::lock_guard lock(store_.mutex_);
        auto it = store_.fetched_.find(url_);
        if (it != store_.fetched_.end() && it->second.crl &&
            this_update_of(it->second.crl->header()) >= this_update_of(crl.crl->header()))
            return std::string();  // not newer: nothing wrong with it, but the URL may have more
        return std::nullopt;
    }

    void after_shared_prepared() {
        CheckerStats& stats = *store_.shared_stats_;
        from_shared_ = false;
        auto refusal = prepared_ ? refuse_shared(*prepared_) : std::optional<std::string>("malformed");
        if (!refusal) {
            stats.shared_hits.fetch_add(1, std::memory_order_relaxed);
            shared_hit_ = true;
            prepared_->unconfirmed = true;  // confirmed by the URL in the background (due())
            return finish(std::move(prepared_));
        }
        if (refusal->empty())
            stats.shared_misses.fetch_add(1, std::memory_order_relaxed);
        else
            stats.count_shared(&CheckerStats::shared_rejected, "crl_" + *refusal);
        prepared_ = make_error(Errc::io, "not prepared");
        fetch();
    }

    // A CRL just downloaded, whose signature verified where it was prepared, goes to the
    // shared cache until its nextUpdate (at most max_ttl), as it was signed.
    void write_back(const Held& crl) {
        const ASN1_TIME* next_time = X509_CRL_get0_nextUpdate(crl.crl->header());
        auto next = next_time ? to_time_point(next_time) : std::nullopt;
        if (!next || share_bytes_.empty()) return;
        bool signed_ok = false;
        for (const auto& key : keys_) signed_ok = signed_ok || crl.crl->signature_verifies(key.get());
        if (!signed_ok) return;
        const auto ttl = std::min(std::chrono::duration_cast<std::chrono::seconds>(*next - std::chrono::system_clock::now()),
                                  std::chrono::duration_cast<std::chrono::seconds>(store_.shared_->settings().max_ttl));
        if (ttl < std::chrono::seconds(1)) return;
        auto stats = store_.shared_stats_;
        auto stored = [stats](bool ok) {
            if (ok)
                stats->shared_writes.fetch_add(1, std::memory_order_relaxed);
            else
                stats->count_shared(&CheckerStats::shared_errors, "write");
        };
        if (!store_.shared_->set(home_, shared_crl_key(store_.shared_->settings().key_prefix, url_), share_bytes_, ttl,
                                 stored))
            stored(false);
    }

    void on_response(Result<HttpResponse> r) {
        if (!r) return finish(std::move(r).error());
        http_status_ = r->status;
        bytes_ = r->body.size();
        if (r->status == 304 && conditional_) return finish(Held{});  // the CRL held is still the current one
        if (r->status != 200) return finish(make_error(Errc::io, fmt::format("HTTP status {}", r->status)));
        etag_ = std::move(r->etag);
        last_modified_ = std::move(r->last_modified);
        body_ = std::move(r->body);
        if (store_.shared_ && body_.size() <= CrlStore::max_shared_crl_bytes) share_bytes_.assign(body_.begin(), body_.end());
        prepare_async();
    }

    // Parsing and preparing a 20 MB CRL takes a while: on libuv's thread pool, so that the
    // loop keeps serving handshakes meanwhile.
    void prepare_async() {
        work_.data = this;
        if (uv_queue_work(home_.loop(), &work_, prepare_off_loop, after_prepare) == 0) {
            working_ = true;
            return;
        }
        prepare_off_loop(&work_);  // no thread pool: here
        prepared();
    }

    void prepared() {
        if (from_shared_) return after_shared_prepared();
        if (prepared_ && store_.shared_) write_back(*prepared_);
        share_bytes_.clear();
        finish(std::move(prepared_));
    }

    // Parses, indexes and verifies the signature once (SignedCrl), so that neither the lookups
    // waiting for this CRL nor the first ones after the swap verify 20 MB each on the thread
    // pool (each did, 12 ms apiece, before).
    static void prepare_off_loop(uv_work_t* work) {
        auto* self = static_cast<Download*>(work->data);
        auto prepare = [self] {
            self->prepared_ = CrlStore::prepare(self->body_);
            self->body_ = {};
            if (!self->prepared_) return;
            for (const auto& key : self->keys_)
                if (self->prepared_->crl->signature_verifies(key.get())) break;
        };
        if (self->background_ && self->body_.size() >= kLargeCrlBytes)
            run_at_low_priority(prepare);
        else
            prepare();
    }

    static void after_prepare(uv_work_t* work, int /*status*/) {
        auto* self = static_cast<Download*>(work->data);
        self->working_ = false;
        if (self->finished_) {  // the worker shut down meanwhile: nobody waits any more
            if (!self->asking_shared_) delete self;
            return;
        }
        self->prepared();
    }

    // Reports once; the object goes when no thread-pool work refers to it any more.
    void finish(Result<Held> result) {
        if (finished_) return;
        finished_ = true;
        if (result && result->crl) {
            result->etag = std::move(etag_);
            result->last_modified = std::move(last_modified_);
        }
        home_.remove_close_hook(close_hook_);
        if (store_.trace_) trace(result);
        release_off_loop(home_.loop(), store_.on_downloaded(url_, std::move(result)));
        if (!working_ && !asking_shared_) delete this;
    }

    void trace(const Result<Held>& result) {
        const std::string outcome = !result         ? result.error().message
                                    : !result->crl  ? "not modified"
                                    : shared_hit_   ? "from the shared cache"
                                                    : "downloaded";
        TraceStep step{"download", url_, outcome, started_, TraceStep::Clock::now(), {}, {}};
        step.http_status = http_status_;
        step.bytes = bytes_;
        store_.trace_->add(std::move(step));
    }

    CrlStore& store_;
    Mailbox& home_;
    std::string url_;
    // For the trace only (set when the store has one): when it started, what the server said.
    TraceStep::Clock::time_point started_;
    std::optional<int> http_status_;
    std::optional<std::size_t> bytes_;
    FetchHandle fetch_;
    std::uint64_t close_hook_ = 0;
    std::vector<tls::EvpPkeyPtr> keys_;
    bool background_;
    std::vector<std::uint8_t> body_;
    uv_work_t work_{};
    Result<Held> prepared_ = make_error(Errc::io, "not prepared");
    bool working_ = false;   // work_ is queued or running
    bool finished_ = false;  // on_downloaded has been told
    bool conditional_ = false;         // validators of a held copy were sent
    std::string etag_, last_modified_;  // the server's validators for this body
    HttpRequest request_;
    FetchLimits limits_;
    bool asking_shared_ = false;  // a shared-cache GET is out: its callback refers to this
    bool from_shared_ = false;    // body_ / prepared_ came from the shared cache
    bool shared_hit_ = false;     // the CRL reported is the shared cache's
    std::string share_bytes_;     // the downloaded DER, for the shared cache (small CRLs only)
};

// The files of the certificate's issuer and, for judging a separate CRL signer's own
// revocation, of the issuers of the configured signers that bear that issuer's name; every
// CRL fetched from the certificate's URLs.
std::vector<HeldCrl> CrlStore::held_for(X509* cert, const std::vector<Url>& urls) {
    std::vector<HeldCrl> held;
    std::lock_guard lock(mutex_);
    for (const auto& f : files_) {
        const X509_NAME* crl_issuer = X509_CRL_get_issuer(f.held.crl->header());
        if (X509_NAME_cmp(crl_issuer, X509_get_issuer_name(cert)) == 0 || is_signers_issuer(crl_issuer, cert))
            held.push_back(HeldCrl{f.held.crl, f.path.string()});
    }
    for (const auto& url : urls)
        if (auto it = fetched_.find(url.text); it != fetched_.end())
            held.push_back(HeldCrl{it->second.crl, url.text});
    return held;
}

bool CrlStore::is_signers_issuer(const X509_NAME* crl_issuer, X509* cert) const {
    for (X509* signer : signer_ptrs_)
        if (X509_NAME_cmp(X509_get_subject_name(signer), X509_get_issuer_name(cert)) == 0 &&
            X509_NAME_cmp(X509_get_issuer_name(signer), crl_issuer) == 0)
            return true;
    return false;
}

std::vector<const Url*> CrlStore::missing(const std::vector<Url>& urls) {
    const auto now = std::chrono::system_clock::now();
    std::vector<const Url*> out;
    std::lock_guard lock(mutex_);
    for (const auto& url : urls) {
        auto it = fetched_.find(url.text);
        if (it == fetched_.end() || !is_current(it->second.crl->header(), now, clock_skew_)) out.push_back(&url);
    }
    return out;
}

MethodResult CrlStore::judge(X509* cert, X509* issuer, X509* anchor, const std::string& download_errors) {
    const auto started = trace_ ? TraceStep::Clock::now() : TraceStep::Clock::time_point{};
    auto held = held_for(cert, sources_for(cert));
    CrlJudgeInput in{cert, issuer, std::chrono::system_clock::now(), clock_skew_};
    in.grace = std::chrono::duration_cast<std::chrono::seconds>(settings_.grace);
    in.delta_required = settings_.delta_required;
    in.signers = signer_ptrs_;
    in.anchor = anchor;
    in.history = &history_;
    std::vector<CrlNotUsed> not_used;
    auto r = judge_certificate(held, in, trace_ ? &not_used : nullptr);
    if (r.kind == MethodResult::Kind::error && !download_errors.empty())
        r.detail += "; not downloaded: " + download_errors;
    if (r.kind == MethodResult::Kind::error && held.empty() && download_errors.empty())
        r.detail = "no CRL for this issuer (no file, no URL, no CRL DP)";
    if (auto skipped = skipped_for(cert); !skipped.empty()) {
        if (urls_for(cert).empty() && held.empty()) {
            r.detail = "no CRL for this issuer: the certificate's CRL distribution points are not http:// (" +
                       join(skipped) + "; only http:// is fetched)";
        } else if (std::string note = note_skipped(skipped); !note.empty()) {
            r.detail += (r.detail.empty() ? "" : "; ") + note;
        }
    }
    if (trace_) trace_judgement(cert, held, r, not_used, started);
    return r;
}

namespace {

const char* outcome_word(MethodResult::Kind kind) {
    switch (kind) {
        case MethodResult::Kind::good: return "good";
        case MethodResult::Kind::revoked: return "revoked";
        case MethodResult::Kind::unknown: return "unknown";
        case MethodResult::Kind::error: return "error";
    }
    return "error";
}

// Whether `source` is one of the CRLs an answer names ("a", or "base + delta", or the
// scopes "a + b" that cover every reason together).
bool decided(const MethodResult& r, const std::string& source) {
    if (r.kind != MethodResult::Kind::good && r.kind != MethodResult::Kind::revoked) return false;
    std::string_view rest = r.source;
    while (!rest.empty()) {
        auto cut = rest.find(" + ");
        if (rest.substr(0, cut) == source) return true;
        rest = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 3);
    }
    return false;
}

}  // namespace

// The judgement as one timed step, then every CRL it looked at: used, not used and why, or
// verified but not needed (an older CRL of the same scope, say), with the CRL's own fields.
void CrlStore::trace_judgement(X509* cert, const std::vector<HeldCrl>& held, const MethodResult& result,
                               const std::vector<CrlNotUsed>& not_used, TraceStep::Clock::time_point started) {
    const std::string serial = tls::serial_hex_of(cert);
    trace_->add(TraceStep{"judge", serial, outcome_word(result.kind), started, TraceStep::Clock::now(), {}, {}});
    for (const auto& h : held) {
        TracedCrl t = traced_fields(h.crl->header());
        t.serial = serial;
        t.source = h.source;
        for (const auto& n : not_used)
            if (n.source == h.source) t.reason += (t.reason.empty() ? "" : "; ") + n.reason;
        t.use = !t.reason.empty() ? "not_used" : decided(result, h.source) ? "used" : "not_deciding";
        trace_->add(std::move(t));
    }
}

std::vector<std::string> CrlStore::skipped_for(X509* cert) const {
    std::vector<std::string> skipped;
    if (!settings_.urls.empty()) return skipped;  // configured URLs replace the CRL DP
    for (auto& text : crl_urls(cert))
        if (auto u = parse_url(text); !u || u->scheme != "http") skipped.push_back(std::move(text));
    return skipped;
}

std::string CrlStore::note_skipped(const std::vector<std::string>& skipped) {
    constexpr std::size_t kMaxSkippedNoted = 64;  // beyond it, noted every time rather than grow
    std::vector<std::string> fresh;
    {
        std::lock_guard lock(mutex_);
        for (const auto& url : skipped) {
            if (skipped_noted_.contains(url)) continue;
            if (skipped_noted_.size() < kMaxSkippedNoted) skipped_noted_.insert(url);
            fresh.push_back(url);
        }
    }
    if (fresh.empty()) return "";
    return "skipped CRL DP " + join(fresh) + " (only http:// is fetched; first time seen)";
}

std::optional<MethodResult> CrlStore::lookup_cached(X509* cert, X509* issuer, X509* anchor) {
    const auto urls = sources_for(cert);
    if (!missing(urls).empty()) return std::nullopt;  // download first
    if (refresh_due(urls)) return std::nullopt;       // lookup_async starts the refresh
    if (needs_first_verification(cert, issuer, urls)) return std::nullopt;  // on the thread pool
    return judge(cert, issuer, anchor, "");
}

bool CrlStore::needs_first_verification(X509* cert, X509* issuer, const std::vector<Url>& urls) {
    EVP_PKEY* key = X509_get0_pubkey(issuer);
    if (key == nullptr) return false;
    for (const auto& held : held_for(cert, urls))
        if (held.crl && held.crl->bytes() >= kLargeCrlBytes && !held.crl->knows(key)) return true;
    return false;
}

std::vector<Url> CrlStore::urls_for(X509* cert) const {
    std::vector<std::string> texts = settings_.urls.empty() ? crl_urls(cert) : settings_.urls;
    std::vector<Url> urls;
    for (const auto& t : texts)
        if (auto u = parse_url(t); u && u->scheme == "http") urls.push_back(std::move(u).value());
    return urls;
}

std::vector<Url> CrlStore::sources_for(X509* cert) {
    auto urls = urls_for(cert);
    if (!settings_.urls.empty()) return urls;  // configured URLs replace what certificates name
    std::vector<std::string> named = freshest_crl_urls(cert);
    {
        std::lock_guard lock(mutex_);
        for (const auto& f : files_)
            if (X509_NAME_cmp(X509_CRL_get_issuer(f.held.crl->header()), X509_get_issuer_name(cert)) == 0)
                named.insert(named.end(), f.held.deltas.begin(), f.held.deltas.end());
        for (std::size_t i = 0, bases = urls.size(); i < bases; ++i)
            if (auto it = fetched_.find(urls[i].text); it != fetched_.end())
                named.insert(named.end(), it->second.deltas.begin(), it->second.deltas.end());
    }
    for (const auto& text : named) {
        auto u = parse_url(text);
        if (!u || u->scheme != "http") continue;
        if (std::none_of(urls.begin(), urls.end(), [&](const Url& have) { return have.text == u->text; }))
            urls.push_back(std::move(u).value());
    }
    return urls;
}

std::size_t CrlStore::lookup_async(Mailbox& home, tls::X509Ptr cert, tls::X509Ptr issuer,
                                   std::function<void(MethodResult)> done, tls::X509Ptr anchor) {
    const auto urls = sources_for(cert.get());
    const auto needed = missing(urls);
    auto lookup = std::make_shared<Lookup>(*this, home, std::move(cert), std::move(issuer), std::move(anchor),
                                           std::move(done), needed.size());
    std::size_t joined = 0;
    for (const Url* url : needed) {
        lookup->attempting(url->text);
        join_download(home, *url, lookup, joined);
    }
    start_refreshes(home, urls, lookup->issuer());
    if (needed.empty()) home.post([lookup] { lookup->on_download(""); });  // held meanwhile
    return joined;
}

void CrlStore::join_download(Mailbox& home, const Url& url, std::shared_ptr<Lookup> lookup, std::size_t& joined) {
    X509* issuer = lookup->issuer();
    {
        std::lock_guard lock(mutex_);
        auto [it, first] = downloads_.try_emplace(url.text);
        it->second.push_back(std::move(lookup));
        if (!first) return (void)++joined;  // including a refresh started in the background
    }
    Download::start(*this, home, url, verification_keys(issuer), false);
}

bool CrlStore::due(const Held& held, std::chrono::system_clock::time_point now,
                   std::chrono::steady_clock::time_point mono) const {
    const bool never_tried = held.refresh_started == std::chrono::steady_clock::time_point{};
    if (held.unconfirmed) return never_tried || mono - held.refresh_started >= kMinRefreshSpacing;
    const ASN1_TIME* next_time = X509_CRL_get0_nextUpdate(held.crl->header());
    if (next_time == nullptr)
        return mono - std::max(held.fetched_at, held.refresh_started) >= kNoNextUpdateRefresh;
    auto next = to_time_point(next_time);
    if (!next || *next < now - clock_skew_) return false;  // expired: missing() fetches it, and lookups wait
    const auto period = *next - this_update_of(held.crl->header());
    const auto margin = std::min<std::chrono::system_clock::duration>(std::max(period / 10, decltype(period){}),
                                                                      kMaxRefreshMargin);
    if (now < *next - margin) return false;
    const auto spacing = std::max<std::chrono::steady_clock::duration>(margin / 8, kMinRefreshSpacing);
    return never_tried || mono - held.refresh_started >= spacing;
}

bool CrlStore::refresh_due(const std::vector<Url>& urls) {
    const auto now = std::chrono::system_clock::now();
    const auto mono = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    for (const auto& url : urls)
        if (auto it = fetched_.find(url.text); it != fetched_.end() && it->second.crl && !downloads_.contains(url.text) &&
                                                due(it->second, now, mono))
            return true;
    return false;
}

// Downloads nobody waits for: the held CRLs keep deciding until the new ones replace them.
void CrlStore::start_refreshes(Mailbox& home, const std::vector<Url>& urls, X509* issuer, bool unconfirmed_only) {
    const auto now = std::chrono::system_clock::now();
    const auto mono = std::chrono::steady_clock::now();
    std::vector<const Url*> starting;
    {
        std::lock_guard lock(mutex_);
        for (const auto& url : urls) {
            auto it = fetched_.find(url.text);
            if (it == fetched_.end() || !it->second.crl || downloads_.contains(url.text) || !due(it->second, now, mono))
                continue;
            if (unconfirmed_only && !it->second.unconfirmed) continue;
            it->second.refresh_started = mono;
            downloads_[url.text];  // in flight, no lookup waiting
            starting.push_back(&url);
        }
    }
    for (const Url* url : starting) Download::start(*this, home, *url, verification_keys(issuer), true);
}

std::vector<tls::EvpPkeyPtr> CrlStore::verification_keys(X509* issuer) const {
    std::vector<tls::EvpPkeyPtr> keys;
    auto add = [&keys](X509* cert) {
        EVP_PKEY* key = cert != nullptr ? X509_get0_pubkey(cert) : nullptr;
        if (key != nullptr && EVP_PKEY_up_ref(key) == 1) keys.emplace_back(key);
    };
    add(issuer);
    for (X509* signer : signer_ptrs_) add(signer);
    return keys;
}

CrlStore::Held CrlStore::on_downloaded(const std::string& url, Result<Held> crl) {
    std::string error;
    Held dropped;
    if (!crl)
        error = url + ": " + crl.error().message;
    else if (crl->crl)
        dropped = keep_fetched(url, std::move(crl).value());
    // else 304 Not Modified: the CRL held stays
    std::vector<std::shared_ptr<Lookup>> waiting;
    {
        std::lock_guard lock(mutex_);
        auto it = downloads_.find(url);
        if (it == downloads_.end()) return dropped;
        waiting.swap(it->second);
        downloads_.erase(it);
    }
    // Each lookup hears on its own loop, after this callback has unwound.
    for (auto& lookup : waiting) lookup->home().post([lookup, error] { lookup->on_download(error); });
    return dropped;
}

// A CRL older than the one held is a replay (or a lagging mirror): the newer one stays
// while it is current, so a download can never roll a revocation back.
CrlStore::Held CrlStore::keep_fetched(const std::string& url, Held crl) {
    const auto now = std::chrono::system_clock::now();
    std::lock_guard lock(mutex_);
    auto& held = fetched_[url];
    if (held.crl && is_current(held.crl->header(), now, clock_skew_) &&
        this_update_of(held.crl->header()) > this_update_of(crl.crl->header()))
        return crl;
    crl.refresh_started = held.refresh_started;
    crl.fetched_at = std::chrono::steady_clock::now();
    std::swap(held, crl);
    return crl;  // the one replaced
}

std::vector<HeldCrlState> CrlStore::held(std::size_t limit) {
    auto state = [](std::string source, X509_CRL* crl) {
        HeldCrlState s{std::move(source), this_update_of(crl), std::nullopt};
        if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl)) s.next_update = to_time_point(next);
        return s;
    };
    std::vector<HeldCrlState> out;
    std::lock_guard lock(mutex_);
    for (const auto& f : files_)
        if (out.size() < limit) out.push_back(state(f.path.string(), f.held.crl->header()));
    std::vector<HeldCrlState> fetched;  // the map's order is arbitrary: sort for a stable listing
    for (const auto& [url, crl] : fetched_) fetched.push_back(state(url, crl.crl->header()));
    std::sort(fetched.begin(), fetched.end(), [](const auto& a, const auto& b) { return a.source < b.source; });
    for (auto& s : fetched)
        if (out.size() < limit) out.push_back(std::move(s));
    return out;
}

bool CrlStore::idle() {
    std::lock_guard lock(mutex_);
    return downloads_.empty() && lookups_in_flight_.load() == 0;
}

}  // namespace ocspgate::ocsp
