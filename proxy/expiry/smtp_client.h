// An asynchronous SMTP client (RFC 5321) on a libuv loop: one delivery per SmtpDelivery.
//
// Used by the expiry monitor on the MAIN loop, which carries no client traffic, and even there
// it never blocks: a host name is resolved with uv_getaddrinfo (threadpool), the connect is a
// uv_tcp_connect, and every step (resolve + connect, each reply) has its own deadline.
//
// The dialogue: greeting 220, EHLO 250, [STARTTLS 220, TLS handshake (tls::Engine in the client
// role, relay verified against the context and the smtp host), EHLO 250 again], MAIL FROM 250,
// RCPT TO 250/251 for each recipient, DATA 354, the message (dot-stuffed) and "." 250, QUIT.
// Any other reply fails the delivery with the relay's words. A relay that does not offer
// STARTTLS when it is required is a failure, never a fallback to plain text.
#pragma once

#include <openssl/ssl.h>
#include <uv.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "base/result.h"

namespace ocspgate::proxy::expiry {

struct SmtpSettings {
    conf::HostPort relay;
    std::chrono::milliseconds step_timeout{30000};
    SSL_CTX* starttls_context = nullptr;  // non-null: STARTTLS is required; must outlive deliveries
    std::string helo_name = "localhost";  // our name in EHLO
};

struct MailMessage {
    std::string from;              // envelope sender
    std::vector<std::string> to;   // envelope recipients (validated addresses: no CR/LF, no <>)
    std::string content;           // RFC 5322 headers and body; LF or CRLF line ends
};

// The DATA payload for `content`: every line ending made CRLF, a '.' doubled at the start of a
// line (RFC 5321 4.5.2 "transparency"), and the terminating CRLF "." CRLF.
std::string smtp_data_payload(std::string_view content);

// Runs `done` once on the loop thread (never inside start()) with Ok or the reason it failed
// (Errc::unavailable: resolve, connect, closed; Errc::timeout; Errc::parse: not SMTP;
// Errc::verify: the relay refused a command; Errc::tls: STARTTLS failed).
using SmtpCallback = std::function<void(Result<Ok>)>;

class SmtpDelivery;  // the exchange; in smtp_client.cpp

// The owner's token for one delivery. cancel() (or destruction) guarantees `done` will not
// run; the exchange frees itself once libuv has closed its handles, so keep running the loop.
class SmtpHandle {
public:
    SmtpHandle() = default;
    SmtpHandle(SmtpHandle&& other) noexcept;
    SmtpHandle& operator=(SmtpHandle&& other) noexcept;
    SmtpHandle(const SmtpHandle&) = delete;
    SmtpHandle& operator=(const SmtpHandle&) = delete;
    ~SmtpHandle() { cancel(); }

    void cancel() noexcept;
    bool pending() const noexcept { return delivery_ != nullptr; }

private:
    friend class SmtpDelivery;
    SmtpDelivery* delivery_ = nullptr;
};

// Starts one delivery on `loop`. Misuse (no recipients, no callback) fails at once and
// `done` is then never called.
Result<Ok> start_smtp_delivery(uv_loop_t* loop, const SmtpSettings& settings, MailMessage message,
                               SmtpCallback done, SmtpHandle& handle);

}  // namespace ocspgate::proxy::expiry
