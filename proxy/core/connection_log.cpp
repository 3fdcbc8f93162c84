// The structured lines a connection writes: `accept` once its certificate is accepted, and
// `close` once, with the outcome, when it ends (and `proxy_header_incomplete` in between if
// the PROXY v2 header had to leave something out). Certificates are described by subject,
// issuer, serial and fingerprint only; no key material, no full certificates.
#include "proxy/core/connection.h"
#include "proxy/log/log.h"
#include "proxy/core/worker.h"
#include "ocsp/asn1_time.h"
#include "tls/certificate.h"

namespace ocspgate::proxy {
namespace {

// What OpenSSL's verification error says, in the refusal vocabulary (base/verdict.h).
RefusalReason refusal_for_verify_error(long code) {
    switch (code) {
        case X509_V_ERR_CERT_HAS_EXPIRED: return RefusalReason::expired;
        case X509_V_ERR_CERT_NOT_YET_VALID: return RefusalReason::not_yet_valid;
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: return RefusalReason::untrusted;
        default: return RefusalReason::bad_certificate;
    }
}

void add_certificate(log::Record& record, const X509* cert) {
    if (cert == nullptr) return;
    record.peer_field("subject", tls::subject_of(cert))
        .peer_field("issuer", tls::issuer_of(cert))
        .field("serial", tls::serial_hex_of(cert));
}

void add_revocation(log::Record& record, const std::optional<ocsp::Decision>& decision) {
    if (!decision) return;
    record.field("revocation", decision->status)
        .field("revocation_method", decision->method)
        .field("revocation_source", decision->source)
        .field("revocation_latency_us", static_cast<std::int64_t>(decision->latency.count()));
    if (decision->age) record.field("revocation_age_s", static_cast<std::int64_t>(decision->age->count()));
    if (decision->verdict == ChainVerdict::revoked) {
        const char* reason = ocsp::crl_reason_name(decision->revoked.reason);
        record.field("revocation_reason", reason ? std::string(reason) : std::to_string(decision->revoked.reason));
        if (decision->revoked.time) record.field("revocation_time", ocsp::to_iso8601(*decision->revoked.time));
    }
    if (!decision->detail.empty()) record.field("revocation_detail", decision->detail);
    if (!decision->serial.empty()) record.field("revocation_serial", decision->serial);
}

// An expired (or not yet valid) certificate: the dates that refused it.
void add_validity(log::Record& record, RefusalReason refusal, const X509* cert) {
    if (cert == nullptr) return;
    if (refusal == RefusalReason::expired) record.field("not_after", ocsp::to_iso8601(tls::not_after_of(cert)));
    if (refusal == RefusalReason::not_yet_valid) {
        auto not_before = ocsp::to_time_point(X509_get0_notBefore(cert));
        if (not_before) record.field("not_before", ocsp::to_iso8601(*not_before));
    }
}

}  // namespace

// Both check the level first: describing certificates costs more than the rest of the line
// (about 1% of a handshake's instructions when the line is then thrown away).
void Connection::log_accept() const {
    if (!log::enabled(conf::LogLevel::info)) return;
    log::Record record("accept");
    record.field("conn", id_)
        .field("worker", worker_.id())
        .field("listener", settings_->conf.name)
        .field("peer", peer_)
        .field("tls_version", tls_->version())
        .field("cipher", tls_->cipher());
    add_certificate(record, tls_->peer_certificate());
    add_revocation(record, revocation_);
    record.field("handshake_ms", handshake_ms_).emit(conf::LogLevel::info);
}

// A revocation method that failed for a configuration reason (unauthorised signer, ...): a
// warning of its own, whichever method decided. The checker hands each one to one decision
// only (per profile, responder and kind), so it is not repeated per connection.
void Connection::log_config_problems(const ocsp::Decision& decision, const std::optional<std::string>& profile) const {
    if (decision.config_problems.empty() || !log::enabled(conf::LogLevel::warn)) return;
    for (const ocsp::ConfigProblem& p : decision.config_problems)
        log::Record("revocation_config_problem")
            .field("conn", id_)
            .field("listener", settings_->conf.name)
            .field("profile", profile.value_or(""))
            .field("responder", p.responder)
            .field("kind", p.kind)
            .field("detail", p.message)
            .emit(conf::LogLevel::warn);
}

// Once per connection, when PROXY v2 sub-TLVs had no room in the header and were left out.
void Connection::log_proxy_header_left_out(const std::vector<std::string_view>& left_out) const {
    if (!log::enabled(conf::LogLevel::warn)) return;
    std::string names;
    for (std::string_view name : left_out) names.append(names.empty() ? "" : ",").append(name);
    log::Record("proxy_header_incomplete")
        .field("conn", id_)
        .field("worker", worker_.id())
        .field("listener", settings_->conf.name)
        .field("peer", peer_)
        .field("left_out", names)
        .emit(conf::LogLevel::warn);
}

bool Connection::accepted() const { return tls_ && tls_->handshake_complete() && !rejected_; }

// The reasons set where they happen come first; otherwise the TLS handshake failed, and the
// revocation verdict or the engine's verification result says why.
RefusalReason Connection::refusal_reason() const {
    if (refusal_) return *refusal_;
    if (revocation_ && revocation_->verdict != ChainVerdict::accept) return refusal_for(revocation_->verdict);
    if (!tls_) return RefusalReason::handshake_failed;
    if (tls_->no_peer_certificate()) return RefusalReason::no_certificate;
    if (tls_->verify_error() != X509_V_OK) return refusal_for_verify_error(tls_->verify_error());
    return RefusalReason::handshake_failed;
}

bool Connection::backend_failed() const { return backend_failure_ && accepted() && !cut_; }

void Connection::count_outcome() const {
    ListenerCounters& counters = settings_->counters;
    if (backend_failed()) {
        counters.backend_failed[static_cast<std::size_t>(*backend_failure_)].fetch_add(1, std::memory_order_relaxed);
    } else if (accepted()) {
        counters.accepted.fetch_add(1, std::memory_order_relaxed);
    } else {
        counters.rejected.fetch_add(1, std::memory_order_relaxed);
        counters.rejected_by_reason[static_cast<std::size_t>(refusal_reason())].fetch_add(1, std::memory_order_relaxed);
    }
    counters.bytes_from_client.fetch_add(bytes_from_client_, std::memory_order_relaxed);
    counters.bytes_from_backend.fetch_add(bytes_from_backend_, std::memory_order_relaxed);
}

// decision: `accept` (the handshake succeeded and the connection ended on its own), `reject`
// (refused before forwarding), `cut` (accepted, then ended by re-validation or expiry) or
// `backend_failed` (accepted, but the backend could not serve it: backend_failure.h); only
// `accept` is logged at info.
void Connection::log_outcome() const {
    bool accepted = this->accepted() && !backend_failed();
    const char* decision = cut_ ? "cut" : backend_failed() ? "backend_failed" : accepted ? "accept" : "reject";
    conf::LogLevel level = accepted && !cut_ ? conf::LogLevel::info : conf::LogLevel::warn;
    if (!log::enabled(level)) return;
    log::Record record("close");
    record.field("conn", id_)
        .field("worker", worker_.id())
        .field("listener", settings_->conf.name)
        .field("peer", peer_)
        .field("decision", decision);
    const bool refused = !cut_ && !backend_failed() && !accepted;
    if (refused) record.field("refusal", to_string(refusal_reason()));
    if (refused && tls_) add_validity(record, refusal_reason(), tls_->verify_error_certificate());
    if (backend_failed()) record.field("backend_failure", std::string(backend_failure_name(*backend_failure_)));
    record.field("reason", close_reason_.empty() ? std::string("closed") : close_reason_);
    if (tls_ && tls_->handshake_complete()) record.field("tls_version", tls_->version()).field("cipher", tls_->cipher());
    if (tls_) add_certificate(record, tls_->peer_certificate());
    add_revocation(record, revocation_);
    if (backend_revocation_) {
        record.field("backend_revocation", backend_revocation_->status)
            .field("backend_revocation_source", backend_revocation_->source);
        if (!backend_revocation_->detail.empty()) record.field("backend_revocation_detail", backend_revocation_->detail);
    }
    record.field("bytes_from_client", bytes_from_client_)
        .field("bytes_from_backend", bytes_from_backend_)
        .field("duration_ms", uv_now(worker_.loop()) - started_ms_)
        .emit(level);
}

}  // namespace ocspgate::proxy
