// Session checks of an established connection, on its one timer while forwarding:
//   - re-validation ("Check Every", the profile's recheck_interval): the client's verified
//     chain goes through the same checker as at the handshake (cache and coalescing apply);
//     a chain now refused, by revocation or by the profile's policy for unknown/errors,
//     ends the connection, both sides.
//   - close_on_expiry: the connection ends when a certificate of the client's verified chain
//     passes its notAfter.
// Each due time is jittered to 0.8-1.0 of the interval so that connections opened together
// (phones re-registering after an outage) do not query the responder together, and no
// connection goes longer than one interval unchecked.
#include <chrono>
#include <random>
#include <string_view>

#include "proxy/core/connection.h"
#include "proxy/log/log.h"
#include "proxy/core/worker.h"
#include "tls/certificate.h"

namespace ocspgate::proxy {
namespace {

std::uint64_t jittered(std::uint64_t interval_ms) {
    thread_local std::minstd_rand random{std::random_device{}()};
    std::uniform_int_distribution<std::uint64_t> spread(0, interval_ms / 5);
    return interval_ms - spread(random);
}

// Milliseconds from now until the first notAfter in `chain` (0 when already past).
std::uint64_t ms_until_chain_expires(STACK_OF(X509) * chain) {
    auto earliest = std::chrono::system_clock::time_point::max();
    for (int i = 0; i < sk_X509_num(chain); ++i) earliest = std::min(earliest, tls::not_after_of(sk_X509_value(chain, i)));
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(earliest - std::chrono::system_clock::now());
    return left.count() > 0 ? static_cast<std::uint64_t>(left.count()) : 0;
}

}  // namespace

void Connection::schedule_session_checks() {
    std::uint64_t now = uv_now(worker_.loop());
    STACK_OF(X509)* chain = tls_->verified_chain();
    if (chain != nullptr && settings_->checker && settings_->recheck_interval.count() > 0)
        recheck_at_ms_ = now + jittered(static_cast<std::uint64_t>(settings_->recheck_interval.count()));
    if (chain != nullptr && settings_->conf.tls.close_on_expiry) expires_at_ms_ = now + ms_until_chain_expires(chain);
    arm_forwarding_timer();
}

// Idle checks are lazy: activity only stamps a time, and the timer is armed for the earliest
// of the idle deadline, the next re-validation and the expiry.
void Connection::arm_forwarding_timer() {
    std::uint64_t now = uv_now(worker_.loop());
    std::uint64_t due = last_activity_ms_ + idle_timeout_ms_;
    if (recheck_at_ms_ != 0) due = std::min(due, recheck_at_ms_);
    if (expires_at_ms_ != 0) due = std::min(due, expires_at_ms_);
    arm_timer(due > now ? due - now : 0);
}

void Connection::on_forwarding_timer() {
    std::uint64_t now = uv_now(worker_.loop());
    if (expires_at_ms_ != 0 && now >= expires_at_ms_)
        return end_session("certificate_expired", "client certificate expired during the session");
    if (now - last_activity_ms_ >= idle_timeout_ms_) return fail("idle timeout");
    if (recheck_at_ms_ != 0 && now >= recheck_at_ms_) {
        recheck_at_ms_ = 0;  // until the answer: a slow responder must not start a second check
        start_recheck();
        if (state_ != ConnState::forwarding) return;
    }
    arm_forwarding_timer();
}

void Connection::start_recheck() {
    STACK_OF(X509)* chain = tls_->verified_chain();
    if (std::optional<ocsp::Decision> decision = settings_->checker->decide_cached(chain))
        return on_recheck_decided(std::move(*decision));
    // Owned here like the handshake's check: closing the connection cancels it.
    // No client waits on a re-check: every attempt gets its configured timeout.
    revocation_check_ = settings_->checker->check(worker_.mailbox(), chain, ocsp::no_deadline,
                                                  [this](ocsp::Decision d) { on_recheck_decided(std::move(d)); });
}

void Connection::on_recheck_decided(ocsp::Decision decision) {
    if (state_ != ConnState::forwarding) return;
    revocation_ = std::move(decision);  // the close line reports the latest answer
    log_config_problems(*revocation_, settings_->conf.revocation);
    if (revocation_->verdict == ChainVerdict::accept) {
        if (log::enabled(conf::LogLevel::debug))
            log::Record("recheck").field("conn", id_).field("worker", worker_.id()).field("revocation", revocation_->status)
                .field("revocation_source", revocation_->source).emit(conf::LogLevel::debug);
        recheck_at_ms_ = uv_now(worker_.loop()) + jittered(static_cast<std::uint64_t>(settings_->recheck_interval.count()));
        return arm_forwarding_timer();
    }
    const char* cause = revocation_->status == cert_status::revoked ? "certificate_revoked" : "certificate_refused";
    std::string reason = revocation_->status == cert_status::revoked ? "client certificate revoked during the session"
                                                         : "client certificate refused on re-validation: " +
                                                               (revocation_->detail.empty() ? revocation_->status : revocation_->detail);
    end_session(cause, std::move(reason));
}

// Logged once, with the certificate and the answer, as a decision of its own; the close line
// that follows repeats the reason.
void Connection::end_session(const char* cause, std::string reason) {
    settings_->counters.cut_in_session.fetch_add(1, std::memory_order_relaxed);
    cut_ = true;  // the close line says decision=cut, at warning level
    close_reason_ = std::move(reason);  // replaces e.g. "client closed" after a half-close
    // The client hears why, as it would have at the handshake: on the own record layer. With
    // OpenSSL keeping the connection (TLS 1.2) it gets close_notify (OpenSSL 3.0 cannot send
    // an alert after the handshake).
    const std::string_view why(cause);
    const std::uint8_t alert = why == "certificate_revoked"   ? SSL_AD_CERTIFICATE_REVOKED
                               : why == "certificate_expired" ? SSL_AD_CERTIFICATE_EXPIRED
                                                              : SSL_AD_CERTIFICATE_UNKNOWN;
    const bool alerted = !client_shut_ && tls_->send_fatal_alert(alert);
    if (log::enabled(conf::LogLevel::warn)) {
        log::Record record("session_end");
        record.field("conn", id_).field("worker", worker_.id()).field("listener", settings_->conf.name).field("peer", peer_)
            .field("cause", cause).field("alert", alerted ? SSL_alert_desc_string_long(alert) : "none (close_notify)");
        if (const X509* cert = tls_->peer_certificate()) {
            record.peer_field("subject", tls::subject_of(cert)).peer_field("issuer", tls::issuer_of(cert))
                .field("serial", tls::serial_hex_of(cert));
        }
        if (revocation_) {
            record.field("revocation", revocation_->status).field("revocation_source", revocation_->source);
            if (!revocation_->detail.empty()) record.field("revocation_detail", revocation_->detail);
        }
        record.emit(conf::LogLevel::warn);
    }
    if (alerted) flush_to_client();
    fail(close_reason_);
}

}  // namespace ocspgate::proxy
