// The certificate expiry monitor ([expiry]): on the MAIN loop (a uv timer; no client traffic
// there), it looks at every configured certificate (listener certificates and chains,
// client_ca, backend_ca, responder trust) and, with include_peer_certificates, at the client
// certificates that PeerCertificates saw recently. A certificate within notify_days of its
// notAfter gets one structured log line per period (frequency, or urgent_frequency within
// urgent_days or once expired), and the certificates due in one run go out together in one
// email when [expiry.email] is set. /metrics and /status read the same list.
//
// Certificate files are read when the monitor is created (start-up, reload), never per tick.
#pragma once

#include <uv.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"
#include "proxy/expiry/mailer.h"
#include "proxy/expiry/policy.h"
#include "proxy/metrics/text.h"
#include "proxy/expiry/peer_certificates.h"
#include "proxy/expiry/watched_certificates.h"
#include "base/result.h"

namespace ocspgate::proxy::expiry {

struct ExpiryEntry {
    const WatchedCertificate* certificate;
    ExpiryLevel level;
    std::int64_t days_left;
};

// The email for the certificates due in one run (RFC 5322, plain text, at most
// kMaxCertificatesPerEmail listed).
std::string compose_expiry_email(const conf::Expiry& settings, const std::vector<ExpiryEntry>& due, SystemTime now,
                                 const std::string& host);

class ExpiryMonitor {
public:
    static constexpr std::size_t kMaxCertificatesPerEmail = 200;
    static constexpr std::chrono::hours kForgetPeersAfter{7 * 24};

    // `configured`: configured_certificates(config), collected with the Runtime. `peers` may
    // be null (include_peer_certificates = false); it must outlive the monitor.
    static Result<std::unique_ptr<ExpiryMonitor>> create(uv_loop_t* loop, const conf::Config& config,
                                                         std::vector<WatchedCertificate> configured,
                                                         PeerCertificates* peers);
    ~ExpiryMonitor();
    ExpiryMonitor(const ExpiryMonitor&) = delete;
    ExpiryMonitor& operator=(const ExpiryMonitor&) = delete;

    void start();  // first run at once, then every policy tick
    // Reload: the new configuration's settings and certificates (read with the new Runtime,
    // off the main loop). Warnings already given keep their time, so a reload does not repeat them.
    // The peer registry stays as it is (its size needs a restart).
    Result<Ok> reconfigure(const conf::Config& config, std::vector<WatchedCertificate> configured);
    void close();  // idempotent; the object must outlive the loop run that closes its handles

    // Main thread (admin pages): the certificates to show, with their state at `now`:
    // every configured one, and the peers inside the notification window.
    std::vector<ExpiryEntry> entries(SystemTime now) const;
    std::size_t peers_seen() const { return peers_ != nullptr ? peers_->size() : 0; }
    // Main thread (/status): every client certificate tracked now, from its first handshake
    // on (not only at the next tick, and whatever its days left), most recently seen first.
    std::vector<PeerCertificate> peers_now() const { return peers_ != nullptr ? peers_->list() : std::vector<PeerCertificate>{}; }
    ExpiryLevel level(SystemTime not_after, SystemTime now) const { return policy_.level(not_after, now); }
    void write_metrics(metrics::MetricsText& out, SystemTime now) const;

private:
    ExpiryMonitor(uv_loop_t* loop, const conf::Config& config, PeerCertificates* peers);
    static void on_tick(uv_timer_t* timer) noexcept;
    void run(SystemTime now);
    void warn(const ExpiryEntry& entry);

    uv_loop_t* loop_;
    conf::Expiry settings_;
    ExpiryPolicy policy_;
    PeerCertificates* peers_;
    std::vector<WatchedCertificate> configured_;
    std::vector<WatchedCertificate> peer_view_;            // refreshed each run
    std::map<std::string, SystemTime> last_warned_;         // by role + fingerprint
    std::unique_ptr<ExpiryMailer> mailer_;                   // null without [expiry.email]
    std::vector<std::unique_ptr<ExpiryMailer>> retired_mailers_;  // closed; kept until the loop ends
    std::string host_;
    uv_timer_t timer_{};
    bool closed_ = false;
    std::uint64_t warnings_ = 0;
};

}  // namespace ocspgate::proxy::expiry
