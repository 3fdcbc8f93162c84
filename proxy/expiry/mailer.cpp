#include "proxy/expiry/mailer.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "proxy/log/log.h"
#include "tls/context.h"

namespace ocspgate::proxy::expiry {
namespace {

// Our name in EHLO: the host name when it is a plausible domain, else an address literal.
std::string helo_name() {
    std::array<char, 256> name{};
    if (gethostname(name.data(), name.size() - 1) != 0) return "[127.0.0.1]";
    std::string text(name.data());
    bool plausible = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-';
    });
    return plausible ? text : "[127.0.0.1]";
}

std::chrono::milliseconds backoff(unsigned attempts) {
    auto delay = ExpiryMailer::kFirstRetry * (1LL << std::min(attempts - 1, 16u));
    return std::min<std::chrono::milliseconds>(delay, ExpiryMailer::kLongestRetry);
}

}  // namespace

ExpiryMailer::ExpiryMailer(uv_loop_t* loop, const conf::ExpiryEmail& settings) : loop_(loop), settings_(settings) {
    uv_timer_init(loop_, &retry_timer_);
    retry_timer_.data = this;
    smtp_.relay = settings.smtp;
    smtp_.step_timeout = settings.timeout;
    smtp_.helo_name = helo_name();
}

ExpiryMailer::~ExpiryMailer() { close(); }

// Everything that can fail comes before the timer exists: a mailer, once constructed, must
// stay alive until the loop has closed its timer.
Result<std::unique_ptr<ExpiryMailer>> ExpiryMailer::create(uv_loop_t* loop, const conf::ExpiryEmail& settings) {
    tls::SslCtxPtr starttls_context;
    if (settings.starttls) {
        auto context = tls::make_https_client_context({settings.tls_ca, {}, {}});
        if (!context) return make_error(Errc::config, "expiry.email: " + context.error().message);
        starttls_context = std::move(context).value();
    }
    std::unique_ptr<ExpiryMailer> mailer(new ExpiryMailer(loop, settings));
    mailer->starttls_context_ = std::move(starttls_context);
    mailer->smtp_.starttls_context = mailer->starttls_context_.get();
    return mailer;
}

void ExpiryMailer::close() {
    if (closed_) return;
    closed_ = true;
    in_flight_.cancel();
    uv_close(reinterpret_cast<uv_handle_t*>(&retry_timer_), nullptr);
}

void ExpiryMailer::enqueue(std::string content) {
    if (closed_) return;
    if (queue_.size() >= kMaxQueued) {
        // Keep the message being delivered (front); drop the oldest one behind it.
        queue_.erase(queue_.begin() + 1);
        ++counters_.dropped;
        log::Record("expiry_email_dropped").field("reason", "queue full").field("queued", kMaxQueued)
            .emit(conf::LogLevel::warn);
    }
    queue_.push_back(std::move(content));
    if (queue_.size() == 1) send_next();
}

void ExpiryMailer::send_next() {
    if (closed_ || queue_.empty() || in_flight_.pending()) return;
    ++attempts_;
    MailMessage message{settings_.from, settings_.to, queue_.front()};
    auto started = start_smtp_delivery(loop_, smtp_, std::move(message),
                                       [this](Result<Ok> outcome) { on_delivered(std::move(outcome)); }, in_flight_);
    if (!started) on_delivered(std::move(started).error());
}

void ExpiryMailer::on_delivered(Result<Ok> outcome) {
    if (closed_) return;
    if (outcome) {
        ++counters_.sent;
        log::Record("expiry_email_sent").field("relay", settings_.smtp.text)
            .field("recipients", static_cast<std::uint64_t>(settings_.to.size())).field("attempt", attempts_)
            .emit(conf::LogLevel::info);
        queue_.pop_front();
        attempts_ = 0;
        return send_next();
    }
    ++counters_.failed_attempts;
    bool give_up = attempts_ >= kMaxAttempts;
    auto retry_in = backoff(attempts_);
    log::Record("expiry_email_failed").field("relay", settings_.smtp.text).field("error", outcome.error().message)
        .field("attempt", attempts_).field("retry_in_ms", give_up ? std::int64_t{-1} : std::int64_t{retry_in.count()})
        .emit(give_up ? conf::LogLevel::error : conf::LogLevel::warn);
    if (give_up) {
        ++counters_.dropped;
        queue_.pop_front();
        attempts_ = 0;
        return send_next();
    }
    uv_timer_start(&retry_timer_, on_retry, static_cast<std::uint64_t>(retry_in.count()), 0);
}

void ExpiryMailer::on_retry(uv_timer_t* timer) noexcept { static_cast<ExpiryMailer*>(timer->data)->send_next(); }

}  // namespace ocspgate::proxy::expiry
