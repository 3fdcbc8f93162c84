#include "proxy/expiry/monitor.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <set>

#include "proxy/log/log.h"
#include "tls/certificate.h"

namespace ocspgate::proxy::expiry {
namespace {

std::string rfc5322_date(SystemTime t) {
    std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    std::array<char, 64> text{};
    std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S +0000", &utc);
    return text.data();
}

// Certificate names come from certificates (peers included): keep control characters out of
// the mail, and lines well under SMTP's 998-character limit.
std::string mail_safe(std::string text) {
    std::replace_if(text.begin(), text.end(), [](char c) { return c < 0x20 || c == 0x7f; }, '?');
    if (text.size() > 400) text = text.substr(0, 400) + "...";
    return text;
}

std::string host_name() {
    std::array<char, 256> name{};
    if (gethostname(name.data(), name.size() - 1) != 0) return "localhost";
    return mail_safe(name.data());
}

std::string key_of(const WatchedCertificate& c) { return c.role + "|" + c.fingerprint; }

}  // namespace

std::string compose_expiry_email(const conf::Expiry& settings, const std::vector<ExpiryEntry>& due, SystemTime now,
                                 const std::string& host) {
    std::size_t expired = 0, urgent = 0;
    for (const ExpiryEntry& e : due) {
        expired += e.level == ExpiryLevel::expired;
        urgent += e.level == ExpiryLevel::urgent;
    }
    std::string to;
    for (const std::string& address : settings.email.to) to += (to.empty() ? "" : ", ") + address;
    std::string text = "From: " + settings.email.from + "\nTo: " + to + "\nSubject: [ocspgate] " +
                       std::to_string(due.size()) + " certificate(s) expiring on " + host + " (" +
                       std::to_string(expired) + " expired, " + std::to_string(urgent) + " urgent)\nDate: " +
                       rfc5322_date(now) + "\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n";
    text += "ocspgate on " + host + " found these certificates within " + std::to_string(settings.notify_days) +
            " days of expiry (urgent within " + std::to_string(settings.urgent_days) + " days):\n";
    std::size_t listed = std::min(due.size(), ExpiryMonitor::kMaxCertificatesPerEmail);
    for (std::size_t i = 0; i < listed; ++i) {
        const ExpiryEntry& e = due[i];
        const WatchedCertificate& c = *e.certificate;
        std::string level(to_string(e.level));
        std::transform(level.begin(), level.end(), level.begin(), [](unsigned char ch) { return std::toupper(ch); });
        text += "\n[" + level + "] role=" + c.role + " days_left=" + std::to_string(e.days_left) +
                " notAfter=" + format_utc(c.not_after) + "\n    subject: " + mail_safe(c.subject) +
                "\n    issuer:  " + mail_safe(c.issuer) + "\n    serial:  " + mail_safe(c.serial) +
                "\n    where:   " + mail_safe(c.where) + "\n";
    }
    if (listed < due.size())
        text += "\n... and " + std::to_string(due.size() - listed) + " more: see `ocspgate status`.\n";
    return text;
}

ExpiryMonitor::ExpiryMonitor(uv_loop_t* loop, const conf::Config& config, PeerCertificates* peers)
    : loop_(loop), settings_(config.expiry), policy_(config.expiry), peers_(peers), host_(host_name()) {
    uv_timer_init(loop_, &timer_);
    timer_.data = this;
}

ExpiryMonitor::~ExpiryMonitor() { close(); }

Result<std::unique_ptr<ExpiryMonitor>> ExpiryMonitor::create(uv_loop_t* loop, const conf::Config& config,
                                                             std::vector<WatchedCertificate> configured,
                                                             PeerCertificates* peers) {
    // The mailer first: once the monitor exists (its timer initialised) it must outlive the loop run.
    std::unique_ptr<ExpiryMailer> mailer;
    if (config.expiry.email.enabled) {
        auto created = ExpiryMailer::create(loop, config.expiry.email);
        if (!created) return std::move(created).error();
        mailer = std::move(created).value();
    }
    std::unique_ptr<ExpiryMonitor> monitor(new ExpiryMonitor(loop, config, peers));
    monitor->configured_ = std::move(configured);
    monitor->mailer_ = std::move(mailer);
    return monitor;
}

namespace {

bool same_email(const conf::ExpiryEmail& a, const conf::ExpiryEmail& b) {
    return a.enabled == b.enabled && a.smtp.text == b.smtp.text && a.from == b.from && a.to == b.to &&
           a.starttls == b.starttls && a.tls_ca == b.tls_ca && a.timeout == b.timeout;
}

}  // namespace

Result<Ok> ExpiryMonitor::reconfigure(const conf::Config& config, std::vector<WatchedCertificate> configured) {
    if (closed_) return Ok{};
    std::unique_ptr<ExpiryMailer> mailer;
    bool new_mailer = !same_email(settings_.email, config.expiry.email);
    if (new_mailer && config.expiry.email.enabled) {
        auto created = ExpiryMailer::create(loop_, config.expiry.email);
        if (!created) return std::move(created).error();
        mailer = std::move(created).value();
    }
    if (new_mailer) {
        if (mailer_) {
            mailer_->close();
            retired_mailers_.push_back(std::move(mailer_));
        }
        mailer_ = std::move(mailer);
    }
    // enabled, include_peer_certificates and max_peer_certificates need a restart (the
    // server reports them); the running values stay.
    conf::Expiry next = config.expiry;
    next.enabled = settings_.enabled;
    next.include_peer_certificates = settings_.include_peer_certificates;
    next.max_peer_certificates = settings_.max_peer_certificates;
    settings_ = next;
    policy_ = ExpiryPolicy(next);
    configured_ = std::move(configured);
    if (uv_is_active(reinterpret_cast<uv_handle_t*>(&timer_))) start();
    return Ok{};
}

void ExpiryMonitor::start() {
    if (closed_) return;
    auto tick = static_cast<std::uint64_t>(policy_.tick().count());
    uv_timer_start(&timer_, on_tick, 0, tick);
}

void ExpiryMonitor::close() {
    if (closed_) return;
    closed_ = true;
    if (mailer_) mailer_->close();
    uv_timer_stop(&timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

void ExpiryMonitor::on_tick(uv_timer_t* timer) noexcept {
    static_cast<ExpiryMonitor*>(timer->data)->run(std::chrono::system_clock::now());
}

std::vector<ExpiryEntry> ExpiryMonitor::entries(SystemTime now) const {
    std::vector<ExpiryEntry> out;
    for (const WatchedCertificate& c : configured_)
        out.push_back({&c, policy_.level(c.not_after, now), days_left(c.not_after, now)});
    for (const WatchedCertificate& c : peer_view_) {
        ExpiryLevel level = policy_.level(c.not_after, now);
        if (level != ExpiryLevel::fine) out.push_back({&c, level, days_left(c.not_after, now)});
    }
    return out;
}

void ExpiryMonitor::run(SystemTime now) {
    peer_view_.clear();
    if (peers_ != nullptr) {
        for (PeerCertificate& p : peers_->snapshot(now - kForgetPeersAfter))
            peer_view_.push_back({"peer", "handshake", std::move(p.subject), std::move(p.issuer), std::move(p.serial),
                                  std::move(p.fingerprint), p.not_after});
    }
    std::map<std::string, SystemTime> still_watched;
    std::vector<ExpiryEntry> due;
    for (const ExpiryEntry& entry : entries(now)) {
        std::string key = key_of(*entry.certificate);
        auto found = last_warned_.find(key);
        std::optional<SystemTime> last;
        if (found != last_warned_.end()) last = found->second;
        if (policy_.due(entry.level, last, now)) {
            warn(entry);
            due.push_back(entry);
            last = now;
        }
        if (last) still_watched[key] = *last;
    }
    last_warned_ = std::move(still_watched);  // forgets certificates no longer watched
    if (!due.empty() && mailer_) mailer_->enqueue(compose_expiry_email(settings_, due, now, host_));
}

void ExpiryMonitor::warn(const ExpiryEntry& entry) {
    ++warnings_;
    const WatchedCertificate& c = *entry.certificate;
    bool expired = entry.level == ExpiryLevel::expired;
    log::Record(expired ? "certificate_expired" : "certificate_expiring")
        .field("role", c.role)
        .field("where", c.where)
        .peer_field("subject", c.subject)
        .peer_field("issuer", c.issuer)
        .field("serial", c.serial)
        .field("not_after", format_utc(c.not_after))
        .field("days_left", entry.days_left)
        .field("state", to_string(entry.level))
        .emit(expired ? conf::LogLevel::error : conf::LogLevel::warn);
}

void ExpiryMonitor::write_metrics(metrics::MetricsText& out, SystemTime now) const {
    std::vector<ExpiryEntry> shown = entries(now);
    out.family("ocspgate_certificate_not_after_seconds", "gauge",
               "notAfter of each watched certificate (configured ones, and client certificates within notify_days), "
               "as Unix seconds.");
    for (const ExpiryEntry& e : shown) {
        const WatchedCertificate& c = *e.certificate;
        auto seconds = std::chrono::duration_cast<std::chrono::seconds>(c.not_after.time_since_epoch()).count();
        out.sample("ocspgate_certificate_not_after_seconds",
                   {{"role", c.role}, {"subject", c.subject}, {"serial", c.serial}},
                   static_cast<std::uint64_t>(std::max<std::int64_t>(seconds, 0)));
    }
    out.family("ocspgate_certificate_days_left", "gauge",
               "Whole days until notAfter (negative once expired), for the same certificates.");
    for (const ExpiryEntry& e : shown) {
        const WatchedCertificate& c = *e.certificate;
        out.sample_signed("ocspgate_certificate_days_left",
                          {{"role", c.role}, {"subject", c.subject}, {"serial", c.serial}}, e.days_left);
    }
    out.family("ocspgate_expiry_warnings_total", "counter", "Expiry warnings issued (log lines; emails batch them).");
    out.sample("ocspgate_expiry_warnings_total", warnings_);
    out.family("ocspgate_peer_certificates_tracked", "gauge", "Client certificates remembered for the expiry monitor.");
    out.sample("ocspgate_peer_certificates_tracked", static_cast<std::uint64_t>(peers_seen()));
    if (!mailer_) return;
    const MailerCounters& m = mailer_->counters();
    out.family("ocspgate_expiry_emails_total", "counter", "Expiry emails by result (failed counts attempts).");
    out.sample("ocspgate_expiry_emails_total", {{"result", "sent"}}, m.sent);
    out.sample("ocspgate_expiry_emails_total", {{"result", "failed"}}, m.failed_attempts);
    out.sample("ocspgate_expiry_emails_total", {{"result", "dropped"}}, m.dropped);
}

}  // namespace ocspgate::proxy::expiry
