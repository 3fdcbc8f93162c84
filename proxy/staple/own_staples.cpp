#include "proxy/staple/own_staples.h"

#include "ocsp/aia.h"
#include "ocsp/asn1_time.h"
#include "proxy/log/log.h"

namespace ocspgate::proxy::staple {
namespace {

// The responder asked: the configured one, else the first http:// OCSP URL of the AIA.
std::optional<ocsp::Url> responder_for(const ListenerSettings& l) {
    std::vector<std::string> candidates;
    if (!l.conf.tls.stapling_responder.empty())
        candidates.push_back(l.conf.tls.stapling_responder);
    else
        candidates = ocsp::ocsp_urls(l.staple_certificate.get());
    for (const auto& text : candidates)
        if (auto url = ocsp::parse_url(text); url && url->scheme == "http") return std::move(url).value();
    return std::nullopt;
}

void log_attempt(const std::string& listener, const std::string& responder, const ocsp::OwnStapleState& s,
                 bool refusing) {
    const auto retry_s = static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::seconds>(s.next_attempt).count());
    if (!s.error.empty()) {
        log::Record("own_staple_failed")
            .field("listener", listener)
            .field("responder", responder)
            .field("error", s.error)
            .field("stapled", s.stapled ? "true" : "false")
            .field("retry_in_s", retry_s)
            .emit(conf::LogLevel::warn);
        return;
    }
    log::Record record(s.status == "revoked" ? "own_certificate_revoked" : "own_staple_fetched");
    record.field("listener", listener).field("responder", responder).field("source", s.source).field("status", s.status);
    if (s.this_update) record.field("this_update", ocsp::to_iso8601(*s.this_update));
    if (s.next_update) record.field("next_update", ocsp::to_iso8601(*s.next_update));
    record.field("stapled", s.stapled ? "true" : "false").field("refresh_in_s", retry_s);
    if (s.status == "revoked") {
        record.field("refusing_handshakes", refusing ? "true" : "false").emit(conf::LogLevel::error);
        return;
    }
    record.emit(s.status == "good" ? conf::LogLevel::info : conf::LogLevel::warn);
}

}  // namespace

void OwnStaples::apply(const Runtime& runtime) {
    std::map<std::string, std::unique_ptr<Stapler>> next;
    std::vector<ocsp::OwnStapler*> starting;
    for (const auto& l : runtime.listeners) {
        if (!l->staple) continue;
        const std::string& name = l->conf.name;
        auto responder = responder_for(*l);
        if (!responder) {
            log::Record("own_staple_failed")
                .field("listener", name)
                .field("error", "no http:// OCSP responder configured or in the certificate's AIA")
                .emit(conf::LogLevel::warn);
            continue;
        }
        ocsp::OwnStapleSettings settings;
        settings.responder = *responder;
        settings.refuse_revoked = l->conf.tls.stapling_refuse_revoked;
        if (runtime.shared_cache) {
            if (!mailbox_) mailbox_ = std::make_unique<ocsp::Mailbox>(loop_);
            settings.shared = runtime.shared_cache;
            settings.home = mailbox_.get();
        }
        if (auto it = staplers_.find(name);
            it != staplers_.end() && it->second->stapler->serves(l->staple_certificate.get(), settings)) {
            it->second->stapler->retarget(l->staple);
            next.emplace(name, std::move(it->second));
            continue;
        }
        auto* self = next.emplace(name, std::make_unique<Stapler>(Stapler{nullptr, responder->text, 0})).first->second.get();
        const bool refuse = settings.refuse_revoked;
        self->stapler = std::make_unique<ocsp::OwnStapler>(
            loop_, tls::X509Ptr(X509_dup(l->staple_certificate.get())), tls::X509Ptr(X509_dup(l->staple_issuer.get())),
            std::move(settings), l->staple, [name, self, refuse](const ocsp::OwnStapleState& s) {
                if (!s.error.empty()) ++self->failures;
                log_attempt(name, self->responder, s, refuse && s.status == "revoked");
            });
        starting.push_back(self->stapler.get());
    }
    // The replaced staplers go first (their fetches are cancelled), then the new ones start.
    staplers_ = std::move(next);
    for (auto* stapler : starting) stapler->start();
}

void OwnStaples::write_metrics(metrics::MetricsText& out) const {
    const auto entries = states();
    out.family("ocspgate_own_staple_stapled", "gauge",
               "1 while the listener staples a good OCSP response for its own certificate.");
    for (const auto& e : entries)
        out.sample("ocspgate_own_staple_stapled", {{"listener", e.listener}}, e.state.stapled ? 1 : 0);
    out.family("ocspgate_own_staple_status", "gauge",
               "The status of the listener's own certificate in the responder's last answer (none: no answer yet).");
    for (const auto& e : entries)
        for (const char* status : {"good", "revoked", "unknown", "none"})
            out.sample("ocspgate_own_staple_status", {{"listener", e.listener}, {"status", status}},
                       e.state.status == status ? 1 : 0);
    out.family("ocspgate_own_staple_next_update_seconds", "gauge",
               "nextUpdate of the last answer about the listener's own certificate (Unix seconds).");
    for (const auto& e : entries)
        if (e.state.next_update)
            out.sample_signed("ocspgate_own_staple_next_update_seconds", {{"listener", e.listener}},
                              std::chrono::duration_cast<std::chrono::seconds>(e.state.next_update->time_since_epoch()).count());
    out.family("ocspgate_own_staple_failures_total", "counter",
               "Failed fetches of the listener's own OCSP response.");
    for (const auto& e : entries) out.sample("ocspgate_own_staple_failures_total", {{"listener", e.listener}}, e.failures);
}

void OwnStaples::close() {
    staplers_.clear();
    if (mailbox_) mailbox_->close();  // closes the shared cache's connection on this loop
}

std::vector<OwnStaples::Entry> OwnStaples::states() const {
    std::vector<Entry> out;
    for (const auto& [name, s] : staplers_) out.push_back({name, s->responder, s->stapler->state(), s->failures});
    return out;
}

}  // namespace ocspgate::proxy::staple
