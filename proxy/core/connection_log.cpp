// The structured lines a connection writes: `accept` once its certificate is accepted, and
// `close` once, with the outcome, when it ends (and `proxy_header_incomplete` in between if
// the PROXY v2 header had to leave something out). Certificates are described by subject,
// issuer, serial and fingerprint only; no key material, no full certificates.
#include "proxy/core/connection.h"
#include "proxy/log/log.h"
#include "proxy/core/worker.h"
#include "tls/certificate.h"

namespace ocspgate::proxy {
namespace {

void add_certificate(log::Record& record, const X509* cert) {
    if (cert == nullptr) return;
    record.field("subject", tls::subject_of(cert))
        .field("issuer", tls::issuer_of(cert))
        .field("serial", tls::serial_hex_of(cert));
}

void add_revocation(log::Record& record, const std::optional<ocsp::Decision>& decision) {
    if (!decision) return;
    record.field("revocation", decision->status)
        .field("revocation_method", decision->method)
        .field("revocation_source", decision->source)
        .field("revocation_latency_us", static_cast<std::int64_t>(decision->latency.count()));
    if (!decision->detail.empty()) record.field("revocation_detail", decision->detail);
    if (!decision->serial.empty()) record.field("revocation_serial", decision->serial);
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

bool Connection::backend_failed() const { return backend_failure_ && accepted() && !cut_; }

void Connection::count_outcome() const {
    ListenerCounters& counters = settings_->counters;
    if (backend_failed()) {
        counters.backend_failed[static_cast<std::size_t>(*backend_failure_)].fetch_add(1, std::memory_order_relaxed);
    } else {
        (accepted() ? counters.accepted : counters.rejected).fetch_add(1, std::memory_order_relaxed);
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
        .field("decision", decision)
        .field("reason", close_reason_.empty() ? std::string("closed") : close_reason_);
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
