// Delivers the expiry monitor's emails one at a time through the SMTP client, on the main loop:
// a bounded queue (kMaxQueued; the oldest is dropped when full) and retries with exponential
// backoff (kFirstRetry doubling up to kLongestRetry, kMaxAttempts in all) when a delivery fails.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>

#include "conf/config.h"
#include "proxy/expiry/smtp_client.h"
#include "tls/ossl.h"
#include "base/result.h"

namespace ocspgate::proxy::expiry {

struct MailerCounters {
    std::uint64_t sent = 0;
    std::uint64_t failed_attempts = 0;
    std::uint64_t dropped = 0;  // given up after kMaxAttempts, or pushed out of a full queue
};

class ExpiryMailer {
public:
    static constexpr std::size_t kMaxQueued = 16;
    static constexpr unsigned kMaxAttempts = 8;
    static constexpr std::chrono::milliseconds kFirstRetry{1000};
    static constexpr std::chrono::milliseconds kLongestRetry{5 * 60 * 1000};

    // Builds the STARTTLS context when asked for (reads tls_ca: start-up or reload only).
    static Result<std::unique_ptr<ExpiryMailer>> create(uv_loop_t* loop, const conf::ExpiryEmail& settings);
    ~ExpiryMailer();
    ExpiryMailer(const ExpiryMailer&) = delete;
    ExpiryMailer& operator=(const ExpiryMailer&) = delete;

    // `content` is the RFC 5322 message; envelope from the settings.
    void enqueue(std::string content);
    // Cancels the delivery in flight and the retry timer. Idempotent; the object must outlive
    // the loop run that processes the close callbacks.
    void close();

    const MailerCounters& counters() const { return counters_; }

private:
    ExpiryMailer(uv_loop_t* loop, const conf::ExpiryEmail& settings);
    void send_next();
    void on_delivered(Result<Ok> outcome);
    static void on_retry(uv_timer_t* timer) noexcept;

    uv_loop_t* loop_;
    conf::ExpiryEmail settings_;
    SmtpSettings smtp_;
    tls::SslCtxPtr starttls_context_;
    std::deque<std::string> queue_;  // front: being delivered or waiting for its retry
    unsigned attempts_ = 0;          // of the front message
    SmtpHandle in_flight_;
    uv_timer_t retry_timer_{};
    bool closed_ = false;
    MailerCounters counters_;
};

}  // namespace ocspgate::proxy::expiry
