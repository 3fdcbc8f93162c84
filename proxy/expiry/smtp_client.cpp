#include "proxy/expiry/smtp_client.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <memory>
#include <optional>
#include <span>

#include "tls/engine.h"

namespace ocspgate::proxy::expiry {
namespace {

// A reply longer than this (all its lines) is not from an SMTP relay we want to talk to.
constexpr std::size_t kMaxReplyBytes = 16 * 1024;
constexpr std::size_t kReadChunkBytes = 16 * 1024;
// Addresses tried for a relay name (localhost is often ::1 then 127.0.0.1); more only burn the
// step's deadline.
constexpr std::size_t kMaxAddresses = 8;

std::string describe_uv(int status) { return std::string(uv_err_name(status)) + " (" + uv_strerror(status) + ")"; }

uv_handle_t* as_handle(auto* handle) noexcept { return reinterpret_cast<uv_handle_t*>(handle); }

struct Reply {
    int code = 0;
    std::vector<std::string> lines;  // without the code and separator

    // "550 mailbox unavailable" (the last line), for diagnostics; control characters removed.
    std::string text() const {
        std::string out = std::to_string(code);
        if (!lines.empty()) out += " " + lines.back();
        std::replace_if(out.begin(), out.end(), [](char c) { return c < 0x20 || c == 0x7f; }, '?');
        return out.substr(0, 200);
    }
};

// One complete reply from the front of `buffer` (consumed), nullopt while incomplete, or an
// error when the bytes are not an SMTP reply. Multiline replies are "250-..." lines ending with
// "250 ..." (RFC 5321 4.2.1).
Result<std::optional<Reply>> take_reply(std::string& buffer) {
    Reply reply;
    std::size_t start = 0;
    while (true) {
        std::size_t end = buffer.find('\n', start);
        if (end == std::string::npos) {
            if (buffer.size() > kMaxReplyBytes) return make_error(Errc::limit, "SMTP reply longer than 16 KiB");
            return std::optional<Reply>{};
        }
        std::string_view line(buffer.data() + start, end - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        bool digits = line.size() >= 3 && std::all_of(line.begin(), line.begin() + 3, [](char c) {
            return c >= '0' && c <= '9';
        });
        if (!digits || (line.size() > 3 && line[3] != '-' && line[3] != ' '))
            return make_error(Errc::parse, "not an SMTP reply line");
        reply.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        reply.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view{});
        start = end + 1;
        if (line.size() == 3 || line[3] == ' ') break;
    }
    buffer.erase(0, start);
    return std::optional<Reply>{std::move(reply)};
}

std::optional<sockaddr_storage> numeric_address(const conf::HostPort& relay) {
    sockaddr_storage address{};
    if (uv_ip4_addr(relay.host.c_str(), relay.port, reinterpret_cast<sockaddr_in*>(&address)) == 0) return address;
    if (uv_ip6_addr(relay.host.c_str(), relay.port, reinterpret_cast<sockaddr_in6*>(&address)) == 0) return address;
    return std::nullopt;
}

bool offers_starttls(const Reply& ehlo) {
    for (std::size_t i = 1; i < ehlo.lines.size(); ++i) {
        std::string keyword = ehlo.lines[i].substr(0, ehlo.lines[i].find(' '));
        std::transform(keyword.begin(), keyword.end(), keyword.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        if (keyword == "STARTTLS") return true;
    }
    return false;
}

}  // namespace

std::string smtp_data_payload(std::string_view content) {
    std::string out;
    out.reserve(content.size() + content.size() / 32 + 8);
    bool line_start = true;
    for (std::size_t i = 0; i < content.size(); ++i) {
        char c = content[i];
        if (line_start && c == '.') out.push_back('.');
        line_start = false;
        if (c == '\r' && i + 1 < content.size() && content[i + 1] == '\n') continue;  // the \n adds CRLF
        if (c == '\n' || c == '\r') {
            out += "\r\n";
            line_start = true;
            continue;
        }
        out.push_back(c);
    }
    if (!line_start) out += "\r\n";
    return out + ".\r\n";
}

// Lifetime: allocated by start_smtp_delivery(); deletes itself in release_if_unused(), once it
// is closing, both handles' close callbacks have run and no uv_getaddrinfo is in flight.
class SmtpDelivery {
public:
    SmtpDelivery(uv_loop_t* loop, const SmtpSettings& settings, MailMessage message, SmtpCallback done)
        : loop_(loop), settings_(settings), message_(std::move(message)), done_(std::move(done)) {}
    SmtpDelivery(const SmtpDelivery&) = delete;
    SmtpDelivery& operator=(const SmtpDelivery&) = delete;

    void start(SmtpHandle& handle) noexcept;
    void cancel() noexcept {
        done_ = nullptr;
        unlink();
        finish(make_error(Errc::cancelled, "cancelled"));
    }
    void rebind(SmtpHandle* handle) noexcept { handle_ = handle; }

private:
    enum class Step { resolving, connecting, reconnecting, greeting, ehlo, starttls, tls_handshake, ehlo_tls, mail_from,
                      rcpt_to, data, body, quit, closing };

    ~SmtpDelivery() = default;

    static void on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* addresses) noexcept;
    static void on_connected(uv_connect_t* req, int status) noexcept;
    static void on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) noexcept;
    static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
    static void on_written(uv_write_t* req, int status) noexcept;
    static void on_timeout(uv_timer_t* timer) noexcept;
    static void on_closed(uv_handle_t* handle) noexcept;

    void connect_next() noexcept;
    static void on_tcp_reopened(uv_handle_t* handle) noexcept;
    void arm() noexcept;
    void send(std::string_view bytes) noexcept;
    void command(Step next, const std::string& line) noexcept;
    void flush() noexcept;
    void receive(std::span<const std::uint8_t> bytes) noexcept;
    void run_tls() noexcept;
    void process_replies() noexcept;
    void on_reply(const Reply& reply) noexcept;
    void begin_tls() noexcept;
    void send_mail_from() noexcept;
    void send_next_rcpt() noexcept;
    void refused(const char* what, const Reply& reply) noexcept;
    void finish(Result<Ok> outcome) noexcept;
    void release_if_unused() noexcept;
    void unlink() noexcept;
    const char* step_name() const noexcept;
    uv_stream_t* stream() noexcept { return reinterpret_cast<uv_stream_t*>(&tcp_); }

    uv_loop_t* loop_;
    SmtpSettings settings_;
    MailMessage message_;
    SmtpCallback done_;
    SmtpHandle* handle_ = nullptr;

    Step step_ = Step::resolving;
    bool delivered_ = false;        // the relay accepted the message (250 after the data)
    std::size_t next_rcpt_ = 0;
    std::vector<sockaddr_storage> addresses_;
    std::size_t next_address_ = 0;
    int open_handles_ = 0;
    bool resolve_pending_ = false;
    bool write_pending_ = false;
    std::optional<Result<Ok>> outcome_;

    uv_tcp_t tcp_{};
    uv_timer_t timer_{};
    uv_getaddrinfo_t resolve_req_{};
    uv_connect_t connect_req_{};
    uv_write_t write_req_{};

    std::unique_ptr<tls::Engine> tls_;  // after STARTTLS: every byte passes through it
    std::vector<std::uint8_t> to_write_;
    std::vector<std::uint8_t> writing_;  // owned by libuv until on_written
    std::string inbound_;                // plaintext not yet parsed into replies
    std::array<char, kReadChunkBytes> read_buffer_{};
};

void SmtpDelivery::start(SmtpHandle& handle) noexcept {
    handle_ = &handle;
    handle.delivery_ = this;
    uv_tcp_init(loop_, &tcp_);
    uv_timer_init(loop_, &timer_);
    tcp_.data = timer_.data = this;
    open_handles_ = 2;
    arm();
    if (auto address = numeric_address(settings_.relay)) {
        addresses_.push_back(*address);
        return connect_next();
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    resolve_req_.data = this;
    std::string service = std::to_string(settings_.relay.port);
    if (int rc = uv_getaddrinfo(loop_, &resolve_req_, on_resolved, settings_.relay.host.c_str(), service.c_str(), &hints);
        rc < 0)
        return finish(make_error(Errc::unavailable, "cannot resolve " + settings_.relay.host + ": " + describe_uv(rc)));
    resolve_pending_ = true;
}

void SmtpDelivery::on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* addresses) noexcept {
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> owned(addresses, uv_freeaddrinfo);
    auto& self = *static_cast<SmtpDelivery*>(req->data);
    self.resolve_pending_ = false;
    if (self.step_ == Step::closing) return self.release_if_unused();
    if (status < 0 || addresses == nullptr)
        return self.finish(make_error(Errc::unavailable, "cannot resolve " + self.settings_.relay.host + ": " +
                                                             describe_uv(status < 0 ? status : UV_EAI_NONAME)));
    for (addrinfo* a = addresses; a != nullptr && self.addresses_.size() < kMaxAddresses; a = a->ai_next) {
        if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
        sockaddr_storage address{};
        std::memcpy(&address, a->ai_addr, std::min<std::size_t>(a->ai_addrlen, sizeof address));
        self.addresses_.push_back(address);
    }
    if (self.addresses_.empty())
        return self.finish(make_error(Errc::unavailable, "no IPv4 or IPv6 address for " + self.settings_.relay.host));
    self.connect_next();
}

void SmtpDelivery::connect_next() noexcept {
    step_ = Step::connecting;
    const auto* address = reinterpret_cast<const sockaddr*>(&addresses_[next_address_++]);
    if (int rc = uv_tcp_connect(&connect_req_, &tcp_, address, on_connected); rc < 0)
        finish(make_error(Errc::unavailable, "cannot connect to " + settings_.relay.text + ": " + describe_uv(rc)));
}

// A socket whose connect failed cannot connect again: the next address gets a fresh handle
// in the same memory once this one is closed.
void SmtpDelivery::on_tcp_reopened(uv_handle_t* handle) noexcept {
    auto& self = *static_cast<SmtpDelivery*>(handle->data);
    if (self.step_ == Step::closing) {  // finish() ran meanwhile and left the closing handle to us
        --self.open_handles_;
        return self.release_if_unused();
    }
    uv_tcp_init(self.loop_, &self.tcp_);
    self.tcp_.data = &self;
    self.connect_next();
}

void SmtpDelivery::on_connected(uv_connect_t* req, int status) noexcept {
    auto& self = *static_cast<SmtpDelivery*>(req->handle->data);
    if (self.step_ == Step::closing) return;
    if (status < 0 && self.next_address_ < self.addresses_.size()) {
        self.step_ = Step::reconnecting;
        return uv_close(as_handle(&self.tcp_), on_tcp_reopened);
    }
    if (status < 0)
        return self.finish(make_error(Errc::unavailable, "cannot connect to " + self.settings_.relay.text + ": " +
                                                             describe_uv(status)));
    self.step_ = Step::greeting;
    self.arm();
    if (int rc = uv_read_start(self.stream(), on_alloc, on_read); rc < 0)
        self.finish(make_error(Errc::unavailable, "cannot read from the relay: " + describe_uv(rc)));
}

void SmtpDelivery::arm() noexcept {
    uv_timer_start(&timer_, on_timeout, static_cast<std::uint64_t>(settings_.step_timeout.count()), 0);
}

void SmtpDelivery::on_timeout(uv_timer_t* timer) noexcept {
    auto& self = *static_cast<SmtpDelivery*>(timer->data);
    if (self.delivered_) return self.finish(Ok{});  // only QUIT was left
    self.finish(make_error(Errc::timeout, std::string("no answer from the relay within ") +
                                              std::to_string(self.settings_.step_timeout.count()) + " ms (" +
                                              self.step_name() + ")"));
}

void SmtpDelivery::on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) noexcept {
    auto& self = *static_cast<SmtpDelivery*>(handle->data);
    *buf = uv_buf_init(self.read_buffer_.data(), static_cast<unsigned>(self.read_buffer_.size()));
}

void SmtpDelivery::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
    auto& self = *static_cast<SmtpDelivery*>(stream->data);
    if (self.step_ == Step::closing || nread == 0) return;
    if (nread < 0) {
        if (self.delivered_) return self.finish(Ok{});
        return self.finish(make_error(Errc::unavailable, std::string("the relay closed the connection (") +
                                                             self.step_name() + "): " +
                                                             describe_uv(static_cast<int>(nread))));
    }
    self.receive({reinterpret_cast<const std::uint8_t*>(buf->base), static_cast<std::size_t>(nread)});
}

void SmtpDelivery::receive(std::span<const std::uint8_t> bytes) noexcept {
    if (tls_) {
        tls_->enc_in(bytes);
        run_tls();
    } else {
        inbound_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    process_replies();
    flush();
}

// Drives the engine and moves what it produced: records to write, plaintext to parse.
void SmtpDelivery::run_tls() noexcept {
    tls::CycleEvents events = tls_->cycle();
    tls_->take_enc_out(to_write_);
    if (events.failure) return finish(make_error(Errc::tls, "STARTTLS with " + settings_.relay.text + ": " + *events.failure));
    std::vector<std::uint8_t> clear;
    tls_->take_clear_out(clear);
    inbound_.append(reinterpret_cast<const char*>(clear.data()), clear.size());
    if (events.handshake_done && step_ == Step::tls_handshake) command(Step::ehlo_tls, "EHLO " + settings_.helo_name);
}

void SmtpDelivery::process_replies() noexcept {
    while (step_ != Step::closing && step_ != Step::tls_handshake) {
        auto reply = take_reply(inbound_);
        if (!reply) {
            return finish(make_error(reply.error().code, "from " + settings_.relay.text + ": " + reply.error().message));
        }
        if (!reply->has_value()) return;
        on_reply(**reply);
    }
}

void SmtpDelivery::on_reply(const Reply& reply) noexcept {
    switch (step_) {
        case Step::greeting:
            if (reply.code != 220) return refused("greeting", reply);
            return command(Step::ehlo, "EHLO " + settings_.helo_name);
        case Step::ehlo:
            if (reply.code != 250) return refused("EHLO", reply);
            if (settings_.starttls_context == nullptr) return send_mail_from();
            if (!offers_starttls(reply))
                return finish(make_error(Errc::verify, "the relay " + settings_.relay.text + " does not offer STARTTLS"));
            return command(Step::starttls, "STARTTLS");
        case Step::starttls:
            if (reply.code != 220) return refused("STARTTLS", reply);
            return begin_tls();
        case Step::ehlo_tls:
            if (reply.code != 250) return refused("EHLO", reply);
            return send_mail_from();
        case Step::mail_from:
            if (reply.code != 250) return refused("MAIL FROM", reply);
            return send_next_rcpt();
        case Step::rcpt_to:
            if (reply.code != 250 && reply.code != 251)
                return refused(("RCPT TO:<" + message_.to[next_rcpt_ - 1] + ">").c_str(), reply);
            return send_next_rcpt();
        case Step::data:
            if (reply.code != 354) return refused("DATA", reply);
            step_ = Step::body;
            arm();
            return send(smtp_data_payload(message_.content));
        case Step::body:
            if (reply.code != 250) return refused("the message", reply);
            delivered_ = true;
            return command(Step::quit, "QUIT");
        case Step::quit:
            return finish(Ok{});
        default:
            return finish(make_error(Errc::parse, "unexpected reply from the relay: " + reply.text()));
    }
}

// RFC 3207: after 220 the next bytes are the TLS handshake. Plaintext the relay sent after its
// 220 would be read as if it came through TLS (a known injection): refuse it.
void SmtpDelivery::begin_tls() noexcept {
    if (!inbound_.empty()) return finish(make_error(Errc::parse, "the relay sent data after its STARTTLS reply"));
    auto engine = tls::Engine::create_client(settings_.starttls_context, settings_.relay.host);
    if (!engine) return finish(make_error(Errc::tls, "STARTTLS: " + engine.error().message));
    tls_ = std::move(engine).value();
    step_ = Step::tls_handshake;
    arm();
    run_tls();
}

void SmtpDelivery::send_mail_from() noexcept { command(Step::mail_from, "MAIL FROM:<" + message_.from + ">"); }

void SmtpDelivery::send_next_rcpt() noexcept {
    if (next_rcpt_ == message_.to.size()) return command(Step::data, "DATA");
    command(Step::rcpt_to, "RCPT TO:<" + message_.to[next_rcpt_++] + ">");
}

void SmtpDelivery::refused(const char* what, const Reply& reply) noexcept {
    finish(make_error(Errc::verify, std::string(what) + " refused by " + settings_.relay.text + ": " + reply.text()));
}

void SmtpDelivery::command(Step next, const std::string& line) noexcept {
    step_ = next;
    arm();
    send(line + "\r\n");
}

void SmtpDelivery::send(std::string_view bytes) noexcept {
    if (step_ == Step::closing) return;
    if (tls_) {
        tls_->clear_in({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
        run_tls();
    } else {
        to_write_.insert(to_write_.end(), bytes.begin(), bytes.end());
    }
    flush();
}

// One write in flight; its bytes stay in writing_ until libuv is done with them.
void SmtpDelivery::flush() noexcept {
    if (write_pending_ || to_write_.empty() || step_ == Step::closing) return;
    writing_.swap(to_write_);
    to_write_.clear();
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(writing_.data()), static_cast<unsigned>(writing_.size()));
    write_req_.data = this;
    if (int rc = uv_write(&write_req_, stream(), &buf, 1, on_written); rc < 0)
        return finish(make_error(Errc::unavailable, "cannot write to the relay: " + describe_uv(rc)));
    write_pending_ = true;
}

void SmtpDelivery::on_written(uv_write_t* req, int status) noexcept {
    auto& self = *static_cast<SmtpDelivery*>(req->data);
    self.write_pending_ = false;
    self.writing_.clear();
    if (self.step_ == Step::closing) return;
    if (status < 0) return self.finish(make_error(Errc::unavailable, "cannot write to the relay: " + describe_uv(status)));
    self.flush();
}

void SmtpDelivery::finish(Result<Ok> outcome) noexcept {
    if (step_ == Step::closing) return;
    step_ = Step::closing;
    outcome_ = std::move(outcome);
    uv_timer_stop(&timer_);
    if (resolve_pending_) uv_cancel(reinterpret_cast<uv_req_t*>(&resolve_req_));
    uv_close(as_handle(&timer_), on_closed);
    // While reconnecting the tcp handle is already closing; on_tcp_reopened() counts it.
    if (!uv_is_closing(as_handle(&tcp_))) uv_close(as_handle(&tcp_), on_closed);
}

void SmtpDelivery::on_closed(uv_handle_t* handle) noexcept {
    auto& self = *static_cast<SmtpDelivery*>(handle->data);
    --self.open_handles_;
    self.release_if_unused();
}

void SmtpDelivery::release_if_unused() noexcept {
    if (open_handles_ > 0 || resolve_pending_) return;
    SmtpCallback done = std::move(done_);
    Result<Ok> outcome = std::move(*outcome_);
    unlink();
    delete this;
    if (done) done(std::move(outcome));
}

void SmtpDelivery::unlink() noexcept {
    if (handle_ != nullptr) handle_->delivery_ = nullptr;
    handle_ = nullptr;
}

const char* SmtpDelivery::step_name() const noexcept {
    switch (step_) {
        case Step::resolving: return "resolving";
        case Step::connecting: case Step::reconnecting: return "connecting";
        case Step::greeting: return "greeting";
        case Step::ehlo: case Step::ehlo_tls: return "EHLO";
        case Step::starttls: return "STARTTLS";
        case Step::tls_handshake: return "TLS handshake";
        case Step::mail_from: return "MAIL FROM";
        case Step::rcpt_to: return "RCPT TO";
        case Step::data: return "DATA";
        case Step::body: return "message";
        case Step::quit: return "QUIT";
        case Step::closing: return "closing";
    }
    return "?";
}

SmtpHandle::SmtpHandle(SmtpHandle&& other) noexcept : delivery_(other.delivery_) {
    other.delivery_ = nullptr;
    if (delivery_ != nullptr) delivery_->rebind(this);
}

SmtpHandle& SmtpHandle::operator=(SmtpHandle&& other) noexcept {
    if (this == &other) return *this;
    cancel();
    delivery_ = other.delivery_;
    other.delivery_ = nullptr;
    if (delivery_ != nullptr) delivery_->rebind(this);
    return *this;
}

void SmtpHandle::cancel() noexcept {
    if (delivery_ != nullptr) delivery_->cancel();  // unlinks: delivery_ is null afterwards
}

Result<Ok> start_smtp_delivery(uv_loop_t* loop, const SmtpSettings& settings, MailMessage message,
                               SmtpCallback done, SmtpHandle& handle) {
    if (loop == nullptr || !done || message.to.empty() || settings.step_timeout.count() <= 0)
        return make_error(Errc::invalid_argument, "an SMTP delivery needs a loop, a callback, recipients and a timeout");
    handle.cancel();
    auto* delivery = new SmtpDelivery(loop, settings, std::move(message), std::move(done));
    delivery->start(handle);
    return Ok{};
}

}  // namespace ocspgate::proxy::expiry
