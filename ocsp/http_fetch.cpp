#include "ocsp/http_fetch.h"

#include "tls/engine.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

namespace ocspgate::ocsp {
namespace {

// One socket read. The plaintext of a read is parsed before the next read starts, so this
// one buffer per exchange is all the receive side ever holds apart from the body.
constexpr std::size_t read_chunk_bytes = std::size_t{16} * 1024;

// What one exchange reads before it lets its loop go round once. libuv reads a readable
// stream up to 32 times per loop iteration (512 KiB here), and each read is copied and parsed
// on the loop: a 20 MB CRL arriving over loopback held every handshake of the loop for
// milliseconds per iteration (perf/RESULTS.md, "Which phase"). At 128 KiB a turn costs about
// 0.1 ms; an OCSP response is one read and never waits.
constexpr std::size_t read_bytes_per_turn = std::size_t{128} * 1024;

// Addresses tried per host name; beyond a few, more attempts only burn the deadline.
constexpr std::size_t max_addresses_per_host = 8;

std::string describe_uv(int status) {
    return std::string(uv_err_name(status)) + " (" + uv_strerror(status) + ")";
}

bool is_header_value_safe(std::string_view text) noexcept {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return c == '\t' || (c >= 0x20 && c < 0x7f); });
}

// ---------------------------------------------------------------------------------------------
// The request

// Url is a plain struct, so the one handed in may not come from parse_url(). Its host and path
// go verbatim into the request, so round-trip it through the parser before trusting it.
Result<Ok> validate_url(const Url& url) {
    const auto bracketed = is_ipv6_literal(url) ? "[" + url.host + "]" : url.host;
    auto parsed = parse_url(url.scheme + "://" + bracketed + ":" + std::to_string(url.port) + url.path);
    if (!parsed) return std::move(parsed).error();
    if (parsed->host != url.host || parsed->port != url.port || parsed->path != url.path) {
        return make_error(Errc::invalid_argument, "URL fields are not in canonical form: " + url.text);
    }
    return Ok{};
}

Result<Ok> validate(uv_loop_t* loop, const HttpRequest& request, const FetchLimits& limits,
                    const FetchCallback& done) {
    auto misuse = [](std::string what) { return make_error(Errc::invalid_argument, std::move(what)); };
    if (loop == nullptr || !done) return misuse("start_fetch needs a loop and a callback");
    if (limits.timeout.count() <= 0 || limits.max_body == 0 || limits.max_header_bytes == 0) {
        return misuse("fetch limits must be positive");
    }
    if (request.method == HttpRequest::Method::get && !request.body.empty()) {
        return misuse("a GET request carries no body");
    }
    if (!is_header_value_safe(request.content_type)) return misuse("the content type has control characters");
    if (!is_header_value_safe(request.if_none_match) || !is_header_value_safe(request.if_modified_since))
        return misuse("a conditional request's validator has control characters");
    for (const auto& address : request.connect_to) {
        if (address.ss_family != AF_INET && address.ss_family != AF_INET6) {
            return misuse("connect_to holds an address that is neither IPv4 nor IPv6");
        }
    }
    if (request.proxy) {
        if (request.proxy->scheme != "http") return misuse("the proxy must be an http:// URL: " + request.proxy->text);
        if (auto valid = validate_url(*request.proxy); !valid) return valid;
    }
    return validate_url(request.url);
}

std::vector<std::uint8_t> serialize(const HttpRequest& request) {
    const bool post = request.method == HttpRequest::Method::post;
    std::string head = post ? "POST " : "GET ";
    // Through a proxy, plain http names the whole URL (RFC 9112 section 3.2.2, absolute-form);
    // https goes through a CONNECT tunnel and is origin-form inside it.
    if (request.proxy && request.url.scheme == "http") head += "http://" + host_header(request.url);
    head += request.url.path + " HTTP/1.1\r\nHost: " + host_header(request.url) + "\r\n";
    if (post && !request.content_type.empty()) head += "Content-Type: " + request.content_type + "\r\n";
    if (post) head += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
    if (!request.if_none_match.empty()) head += "If-None-Match: " + request.if_none_match + "\r\n";
    if (!request.if_modified_since.empty()) head += "If-Modified-Since: " + request.if_modified_since + "\r\n";
    // One exchange per connection: the server may delimit the body by closing.
    head += "Connection: close\r\n\r\n";

    std::vector<std::uint8_t> bytes(head.begin(), head.end());
    bytes.insert(bytes.end(), request.body.begin(), request.body.end());
    return bytes;
}

// ---------------------------------------------------------------------------------------------
// The transport seam: the byte stream between the socket and the HTTP parser.

// Named like the memory-BIO verbs of a TLS engine (STYLE 3): Fetch owns the socket and moves
// bytes through, a Transport never touches libuv. PlainTransport passes bytes straight through.
// A TLS transport for https:// runs OpenSSL over memory BIOs behind the same five verbs:
// clear_in holds the request until the handshake is done, enc_in takes the records read,
// enc_out yields the records to write (handshake included; Fetch flushes after every enc_in),
// and enc_eof fails on a missing close_notify, which could truncate a close-delimited body.
class Transport {
public:
    virtual ~Transport() = default;
    virtual Result<Ok> clear_in(std::span<const std::uint8_t> bytes) = 0;  // to send to the peer
    virtual Result<Ok> enc_in(std::span<const std::uint8_t> bytes) = 0;    // read from the socket
    virtual Result<Ok> enc_eof() = 0;                                      // the socket hit EOF
    virtual void clear_out(std::vector<std::uint8_t>& into) = 0;  // moves received plaintext out
    virtual void enc_out(std::vector<std::uint8_t>& into) = 0;    // moves bytes to write out
};

// Appends `from` to `into` and empties `from`, without a copy when `into` is empty.
void move_bytes(std::vector<std::uint8_t>& from, std::vector<std::uint8_t>& into) {
    if (into.empty()) {
        into.swap(from);
    } else {
        into.insert(into.end(), from.begin(), from.end());
    }
    from.clear();
}

class PlainTransport final : public Transport {
public:
    Result<Ok> clear_in(std::span<const std::uint8_t> bytes) override {
        to_send_.insert(to_send_.end(), bytes.begin(), bytes.end());
        return Ok{};
    }
    Result<Ok> enc_in(std::span<const std::uint8_t> bytes) override {
        received_.insert(received_.end(), bytes.begin(), bytes.end());
        return Ok{};
    }
    Result<Ok> enc_eof() override { return Ok{}; }
    void clear_out(std::vector<std::uint8_t>& into) override { move_bytes(received_, into); }
    void enc_out(std::vector<std::uint8_t>& into) override { move_bytes(to_send_, into); }

private:
    std::vector<std::uint8_t> to_send_;
    std::vector<std::uint8_t> received_;
};

// https: the client role of tls::Engine. The responder's certificate is verified by OpenSSL
// against the request's context, including the host name or IP address of the URL.
class TlsTransport final : public Transport {
public:
    explicit TlsTransport(std::unique_ptr<tls::Engine> engine) : engine_(std::move(engine)) {}

    Result<Ok> clear_in(std::span<const std::uint8_t> bytes) override {
        engine_->clear_in(bytes);
        return run();
    }
    Result<Ok> enc_in(std::span<const std::uint8_t> bytes) override {
        engine_->enc_in(bytes);
        return run();
    }
    Result<Ok> enc_eof() override {
        if (!engine_->handshake_complete())
            return make_error(Errc::unavailable, "responder closed the connection during the TLS handshake");
        return Ok{};  // the HTTP framing decides whether the body was cut short
    }
    void clear_out(std::vector<std::uint8_t>& into) override { engine_->take_clear_out(into); }
    void enc_out(std::vector<std::uint8_t>& into) override { engine_->take_enc_out(into); }

private:
    Result<Ok> run() {
        tls::CycleEvents events = engine_->cycle();
        if (events.failure) return make_error(Errc::tls, "TLS to responder: " + *events.failure);
        return Ok{};
    }

    std::unique_ptr<tls::Engine> engine_;
};

// https through an HTTP proxy: "CONNECT host:port" first (RFC 9110 section 9.3.6); once the
// proxy answers 2xx, the bytes are the inner (TLS) transport's both ways. Until then the inner
// transport's output (the ClientHello) is held back, and the proxy's answer never reaches it.
class TunnelTransport final : public Transport {
public:
    TunnelTransport(std::unique_ptr<Transport> inner, const Url& target) : inner_(std::move(inner)) {
        std::string authority = host_header_with_port(target);
        std::string head = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
        connect_request_.assign(head.begin(), head.end());
    }

    Result<Ok> clear_in(std::span<const std::uint8_t> bytes) override { return inner_->clear_in(bytes); }
    Result<Ok> enc_in(std::span<const std::uint8_t> bytes) override {
        if (open_) return inner_->enc_in(bytes);
        answer_.insert(answer_.end(), bytes.begin(), bytes.end());
        const std::string_view text(reinterpret_cast<const char*>(answer_.data()), answer_.size());
        const auto end = text.find("\r\n\r\n");
        if (end == std::string_view::npos) {
            if (answer_.size() > max_connect_answer) return make_error(Errc::parse, "the proxy's answer to CONNECT is too long");
            return Ok{};
        }
        const std::string_view status_line = text.substr(0, text.find("\r\n"));
        // "HTTP/1.1 200 Connection established": any 2xx opens the tunnel.
        if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[9] != '2') {
            return make_error(Errc::unavailable, "the proxy refused CONNECT: " + printable_line(status_line));
        }
        open_ = true;
        std::vector<std::uint8_t> rest(answer_.begin() + static_cast<std::ptrdiff_t>(end + 4), answer_.end());
        answer_ = {};
        // The ClientHello waits in the inner transport; Fetch flushes it after this call.
        return rest.empty() ? Result<Ok>(Ok{}) : inner_->enc_in(rest);
    }
    Result<Ok> enc_eof() override {
        if (!open_) return make_error(Errc::unavailable, "the proxy closed the connection before answering CONNECT");
        return inner_->enc_eof();
    }
    void clear_out(std::vector<std::uint8_t>& into) override {
        if (open_) inner_->clear_out(into);
    }
    void enc_out(std::vector<std::uint8_t>& into) override {
        if (!connect_request_.empty()) return move_bytes(connect_request_, into);
        if (open_) inner_->enc_out(into);
    }

private:
    static constexpr std::size_t max_connect_answer = 16 * 1024;

    static std::string host_header_with_port(const Url& url) {
        const std::string host = is_ipv6_literal(url) ? "[" + url.host + "]" : url.host;
        return host + ":" + std::to_string(url.port);
    }
    static std::string printable_line(std::string_view line) {
        std::string out;
        for (char c : line.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
        return out;
    }

    std::unique_ptr<Transport> inner_;
    std::vector<std::uint8_t> connect_request_;  // sent first, once
    std::vector<std::uint8_t> answer_;           // the proxy's answer, until its blank line
    bool open_ = false;
};

Result<std::unique_ptr<Transport>> make_transport(const HttpRequest& request) {
    if (request.url.scheme != "https") return std::unique_ptr<Transport>(std::make_unique<PlainTransport>());
    if (request.tls_context == nullptr)
        return make_error(Errc::invalid_argument, "https needs a TLS client context: " + request.url.text);
    auto engine = tls::Engine::create_client(request.tls_context, request.url.host);
    if (!engine) return std::move(engine).error();
    std::unique_ptr<Transport> tls = std::make_unique<TlsTransport>(std::move(engine).value());
    if (!request.proxy) return tls;
    return std::unique_ptr<Transport>(std::make_unique<TunnelTransport>(std::move(tls), request.url));
}

// ---------------------------------------------------------------------------------------------
// Socket addresses

struct AddrinfoDeleter {
    void operator()(addrinfo* list) const noexcept { uv_freeaddrinfo(list); }
};
using AddrinfoPtr = std::unique_ptr<addrinfo, AddrinfoDeleter>;

std::optional<sockaddr_storage> numeric_address(const Url& url) noexcept {
    sockaddr_storage address{};
    const char* host = url.host.c_str();
    if (uv_ip4_addr(host, url.port, reinterpret_cast<sockaddr_in*>(&address)) == 0) return address;
    if (uv_ip6_addr(host, url.port, reinterpret_cast<sockaddr_in6*>(&address)) == 0) return address;
    return std::nullopt;
}

std::string format_address(const sockaddr_storage& address) {
    std::array<char, INET6_ADDRSTRLEN> name{};
    uv_ip_name(reinterpret_cast<const sockaddr*>(&address), name.data(), name.size());
    if (address.ss_family == AF_INET6) {
        const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
        return "[" + std::string(name.data()) + "]:" + std::to_string(ntohs(v6.sin6_port));
    }
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    return std::string(name.data()) + ":" + std::to_string(ntohs(v4.sin_port));
}

uv_handle_t* as_handle(auto* handle) noexcept { return reinterpret_cast<uv_handle_t*>(handle); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// The exchange

// Lifetime: allocated by start_fetch(); deletes itself, and only in release_if_unused(), once
// it is Closing, both handles' close callbacks have run and no uv_getaddrinfo is in flight (a
// lookup that the threadpool has started cannot be called off; its callback must find us).
// Pending connect and write requests need no count: libuv completes them with UV_ECANCELED
// before the tcp handle's close callback.
class Fetch {
public:
    Fetch(uv_loop_t* loop, Url url, Url dial, std::vector<std::uint8_t> request_bytes, FetchLimits limits,
          FetchCallback done, std::unique_ptr<Transport> transport) noexcept
        : loop_(loop), url_(std::move(url)), dial_(std::move(dial)), limits_(limits), done_(std::move(done)),
          request_bytes_(std::move(request_bytes)), transport_(std::move(transport)),
          parser_(limits.max_body, limits.max_header_bytes) {}
    Fetch(const Fetch&) = delete;  // libuv handles point back here
    Fetch& operator=(const Fetch&) = delete;

    // Allocates an exchange, links it to the returned handle and starts it.
    static FetchHandle launch(uv_loop_t* loop, HttpRequest request, FetchLimits limits, FetchCallback done,
                              std::unique_ptr<Transport> transport);
    void cancel() noexcept;
    void rebind(FetchHandle* handle) noexcept { handle_ = handle; }

private:
    // Resolving → Connecting ⇄ Reconnecting → Exchanging → Closing; any state → Closing.
    enum class State { Resolving, Connecting, Reconnecting, Exchanging, Closing };

    ~Fetch() = default;  // see release_if_unused()

    void start() noexcept;

    static void on_resolved(uv_getaddrinfo_t* request, int status, addrinfo* addresses) noexcept;
    static void on_connected(uv_connect_t* request, int status) noexcept;
    static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buffer) noexcept;
    static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buffer) noexcept;
    static void on_written(uv_write_t* request, int status) noexcept;
    static void on_deadline(uv_timer_t* timer) noexcept;
    static void on_next_turn(uv_idle_t* idle) noexcept;
    static void on_tcp_closed(uv_handle_t* handle) noexcept;
    static void on_closed(uv_handle_t* handle) noexcept;

    void resolve() noexcept;
    void keep_addresses(const addrinfo* list) noexcept;
    void connect_next() noexcept;
    void on_connect_failed(int status) noexcept;
    void begin_exchange() noexcept;
    void start_reading() noexcept;
    void yield_after(std::size_t bytes) noexcept;
    void flush_writes() noexcept;
    void receive(std::span<const std::uint8_t> bytes) noexcept;
    void receive_eof() noexcept;
    void parse_received() noexcept;
    void fail(Errc code, const std::string& what) noexcept;
    void finish(Result<HttpResponse> outcome) noexcept;
    void on_handle_closed() noexcept;
    void deliver() noexcept;
    void unlink_handle() noexcept;
    void release_if_unused() noexcept;
    const char* phase() const noexcept;
    uv_stream_t* stream() noexcept { return reinterpret_cast<uv_stream_t*>(&tcp_); }

    uv_loop_t* const loop_;
    const Url url_;
    const Url dial_;  // where the socket goes: url_, or the proxy
    const FetchLimits limits_;
    FetchCallback done_;             // emptied when delivered or cancelled
    FetchHandle* handle_ = nullptr;  // the requester's token; null once unlinked

    State state_ = State::Resolving;
    int open_handles_ = 0;           // tcp_, deadline_ and next_turn_ until their close callbacks run
    bool resolve_pending_ = false;   // resolve_req_ is with the threadpool
    bool write_pending_ = false;     // write_buffer_ belongs to libuv until on_written

    uv_timer_t deadline_{};          // the one deadline: resolve + connect + send + receive
    uv_idle_t next_turn_{};          // active while reading pauses for one loop iteration
    std::size_t read_this_turn_ = 0;  // bytes read since reading last (re)started
    uv_tcp_t tcp_{};
    uv_getaddrinfo_t resolve_req_{};
    uv_connect_t connect_req_{};
    uv_write_t write_req_{};

    std::vector<sockaddr_storage> addresses_;
    std::size_t next_address_ = 0;

    std::vector<std::uint8_t> request_bytes_;  // handed to the transport once connected
    std::unique_ptr<Transport> transport_;
    ResponseParser parser_;
    std::vector<std::uint8_t> write_buffer_;
    std::vector<std::uint8_t> clear_buffer_;
    std::array<char, read_chunk_bytes> read_buffer_{};
    std::optional<Result<HttpResponse>> outcome_;  // set once, when Closing begins
};

FetchHandle Fetch::launch(uv_loop_t* loop, HttpRequest request, FetchLimits limits, FetchCallback done,
                          std::unique_ptr<Transport> transport) {
    auto bytes = serialize(request);
    Url dial = request.proxy ? *request.proxy : request.url;
    auto* fetch = new Fetch(loop, std::move(request.url), std::move(dial), std::move(bytes), limits, std::move(done),
                            std::move(transport));
    fetch->addresses_ = std::move(request.connect_to);
    if (fetch->addresses_.size() > max_addresses_per_host) fetch->addresses_.resize(max_addresses_per_host);
    FetchHandle handle(fetch);
    fetch->start();
    return handle;
}

void Fetch::start() noexcept {
    // Neither init can fail: a timer needs nothing, and a tcp handle gets its socket at connect.
    uv_timer_init(loop_, &deadline_);
    deadline_.data = this;
    uv_tcp_init(loop_, &tcp_);
    tcp_.data = this;
    uv_idle_init(loop_, &next_turn_);
    next_turn_.data = this;
    open_handles_ = 3;
    uv_timer_start(&deadline_, on_deadline, static_cast<std::uint64_t>(limits_.timeout.count()), 0);

    if (addresses_.empty()) {
        if (auto address = numeric_address(dial_)) addresses_.push_back(*address);
    }
    if (addresses_.empty()) return resolve();
    connect_next();
}

void Fetch::resolve() noexcept {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    const auto service = std::to_string(dial_.port);
    const int rc =
        uv_getaddrinfo(loop_, &resolve_req_, on_resolved, dial_.host.c_str(), service.c_str(), &hints);
    if (rc < 0) return fail(Errc::unavailable, "cannot resolve " + dial_.host + ": " + describe_uv(rc));
    resolve_req_.data = this;
    resolve_pending_ = true;
}

void Fetch::on_resolved(uv_getaddrinfo_t* request, int status, addrinfo* addresses) noexcept {
    const AddrinfoPtr owned(addresses);  // freed whichever way we leave
    auto& self = *static_cast<Fetch*>(request->data);
    self.resolve_pending_ = false;
    if (self.state_ == State::Closing) return self.release_if_unused();  // nobody wants it now
    const auto& host = self.dial_.host;
    if (status < 0) {
        return self.fail(Errc::unavailable, "cannot resolve " + host + ": " + describe_uv(status));
    }
    self.keep_addresses(addresses);
    if (self.addresses_.empty()) return self.fail(Errc::unavailable, "no IPv4 or IPv6 address for " + host);
    self.connect_next();
}

void Fetch::keep_addresses(const addrinfo* list) noexcept {
    for (auto* entry = list; entry != nullptr; entry = entry->ai_next) {
        if (addresses_.size() == max_addresses_per_host) return;
        if (entry->ai_family != AF_INET && entry->ai_family != AF_INET6) continue;
        sockaddr_storage address{};
        std::memcpy(&address, entry->ai_addr, std::min<std::size_t>(entry->ai_addrlen, sizeof address));
        addresses_.push_back(address);
    }
}

void Fetch::connect_next() noexcept {
    state_ = State::Connecting;
    const auto* address = reinterpret_cast<const sockaddr*>(&addresses_[next_address_++]);
    const int rc = uv_tcp_connect(&connect_req_, &tcp_, address, on_connected);
    if (rc < 0) on_connect_failed(rc);
}

void Fetch::on_connected(uv_connect_t* request, int status) noexcept {
    auto& self = *static_cast<Fetch*>(request->handle->data);
    if (self.state_ == State::Closing) return;  // UV_ECANCELED: the teardown owns the socket
    if (status < 0) return self.on_connect_failed(status);
    self.begin_exchange();
}

void Fetch::on_connect_failed(int status) noexcept {
    if (next_address_ >= addresses_.size()) {
        std::string what = std::string(dial_.text == url_.text ? "" : "proxy: ") + "cannot connect to " +
                           format_address(addresses_[next_address_ - 1]);
        const auto count = addresses_.size();
        if (count > 1) what += " (the last of " + std::to_string(count) + " addresses)";
        return fail(Errc::unavailable, what + ": " + describe_uv(status));
    }
    // A socket whose connect failed cannot connect again: close it, and on_tcp_closed()
    // initialises a fresh one in the same memory for the next address.
    state_ = State::Reconnecting;
    uv_close(as_handle(&tcp_), on_tcp_closed);
}

void Fetch::begin_exchange() noexcept {
    state_ = State::Exchanging;
    auto queued = transport_->clear_in(request_bytes_);
    request_bytes_ = {};
    if (!queued) return finish(std::move(queued).error());
    start_reading();
    flush_writes();
}

void Fetch::start_reading() noexcept {
    read_this_turn_ = 0;
    const int rc = uv_read_start(stream(), on_alloc, on_read);
    if (rc < 0) fail(Errc::unavailable, "cannot read from the connection: " + describe_uv(rc));
}

// Past read_bytes_per_turn, reading stops until the loop has been round once (its other
// sockets served); next_turn_ runs at the start of the next iteration and reads on.
void Fetch::yield_after(std::size_t bytes) noexcept {
    read_this_turn_ += bytes;
    if (read_this_turn_ < read_bytes_per_turn || state_ != State::Exchanging) return;
    uv_read_stop(stream());
    uv_idle_start(&next_turn_, on_next_turn);
}

void Fetch::on_next_turn(uv_idle_t* idle) noexcept {
    auto& self = *static_cast<Fetch*>(idle->data);
    uv_idle_stop(idle);
    if (self.state_ == State::Exchanging) self.start_reading();
}

// One write in flight at a time: bytes leave write_buffer_ only when uv_write completes.
void Fetch::flush_writes() noexcept {
    if (write_pending_ || state_ != State::Exchanging) return;
    transport_->enc_out(write_buffer_);
    if (write_buffer_.empty()) return;
    const uv_buf_t buffer = uv_buf_init(reinterpret_cast<char*>(write_buffer_.data()),
                                        static_cast<unsigned>(write_buffer_.size()));
    const int rc = uv_write(&write_req_, stream(), &buffer, 1, on_written);
    if (rc < 0) return fail(Errc::unavailable, "cannot send the request: " + describe_uv(rc));
    write_pending_ = true;
}

void Fetch::on_written(uv_write_t* request, int status) noexcept {
    auto& self = *static_cast<Fetch*>(request->handle->data);
    self.write_pending_ = false;
    self.write_buffer_.clear();
    if (self.state_ == State::Closing) return;  // UV_ECANCELED
    if (status < 0) return self.fail(Errc::unavailable, "sending the request failed: " + describe_uv(status));
    self.flush_writes();
}

void Fetch::on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buffer) noexcept {
    auto& self = *static_cast<Fetch*>(handle->data);
    *buffer = uv_buf_init(self.read_buffer_.data(), static_cast<unsigned>(self.read_buffer_.size()));
}

void Fetch::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buffer) noexcept {
    auto& self = *static_cast<Fetch*>(stream->data);
    if (self.state_ != State::Exchanging) return;
    if (nread > 0) {
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(buffer->base);
        self.receive({bytes, static_cast<std::size_t>(nread)});
        return self.yield_after(static_cast<std::size_t>(nread));
    }
    if (nread == UV_EOF) return self.receive_eof();
    const int status = static_cast<int>(nread);
    if (status < 0) self.fail(Errc::unavailable, "the connection failed: " + describe_uv(status));
}

void Fetch::receive(std::span<const std::uint8_t> bytes) noexcept {
    if (auto taken = transport_->enc_in(bytes); !taken) return finish(std::move(taken).error());
    flush_writes();  // a TLS transport may have something to say back
    if (state_ == State::Exchanging) parse_received();
}

void Fetch::receive_eof() noexcept {
    if (auto clean = transport_->enc_eof(); !clean) return finish(std::move(clean).error());
    parse_received();
    if (state_ != State::Exchanging) return;
    auto progress = parser_.finish_at_eof();
    if (!progress) return finish(std::move(progress).error());
    if (*progress == ResponseParser::Progress::complete) return finish(parser_.take());
    fail(Errc::unavailable,
         "the server closed the connection before the response was complete: " + describe_uv(UV_EOF));
}

void Fetch::parse_received() noexcept {
    transport_->clear_out(clear_buffer_);
    auto progress = parser_.feed(clear_buffer_);
    clear_buffer_.clear();
    if (!progress) return finish(std::move(progress).error());
    if (*progress == ResponseParser::Progress::complete) finish(parser_.take());
}

void Fetch::on_deadline(uv_timer_t* timer) noexcept {
    auto& self = *static_cast<Fetch*>(timer->data);
    const auto waited = std::to_string(self.limits_.timeout.count());
    self.fail(Errc::timeout, "no response within " + waited + " ms (" + self.phase() + ")");
}

const char* Fetch::phase() const noexcept {
    switch (state_) {
        case State::Resolving: return "resolving the host";
        case State::Connecting:
        case State::Reconnecting: return "connecting";
        case State::Exchanging: return "awaiting the response";
        case State::Closing: break;
    }
    return "closing";
}

// Without the URL: every caller names the URL it fetched once, in its own words.
void Fetch::fail(Errc code, const std::string& what) noexcept {
    finish(make_error(code, what));
}

// The one teardown. The outcome waits in outcome_ until both handles have closed, so the
// callback never runs inside start_fetch() or inside a libuv callback of this fetch that
// still uses its socket.
void Fetch::finish(Result<HttpResponse> outcome) noexcept {
    if (state_ == State::Closing) return;
    state_ = State::Closing;
    outcome_.emplace(std::move(outcome));
    uv_close(as_handle(&deadline_), on_closed);
    uv_close(as_handle(&next_turn_), on_closed);
    if (!uv_is_closing(as_handle(&tcp_))) uv_close(as_handle(&tcp_), on_tcp_closed);  // Reconnecting: already
    // Best effort: succeeds only while the lookup is still queued. Either way its callback
    // comes, and release_if_unused() waits for it.
    if (resolve_pending_) uv_cancel(reinterpret_cast<uv_req_t*>(&resolve_req_));
}

void Fetch::on_tcp_closed(uv_handle_t* handle) noexcept {
    auto& self = *static_cast<Fetch*>(handle->data);
    if (self.state_ == State::Reconnecting) {
        uv_tcp_init(self.loop_, &self.tcp_);
        self.tcp_.data = &self;
        return self.connect_next();
    }
    self.on_handle_closed();
}

// deadline_ and next_turn_ (tcp_ has its own: it may reconnect).
void Fetch::on_closed(uv_handle_t* handle) noexcept {
    static_cast<Fetch*>(handle->data)->on_handle_closed();
}

void Fetch::on_handle_closed() noexcept {
    if (--open_handles_ > 0) return;
    deliver();
    release_if_unused();
}

void Fetch::deliver() noexcept {
    unlink_handle();  // the callback may drop or reuse its handle: it no longer refers to us
    FetchCallback done = std::exchange(done_, nullptr);
    if (done) done(std::move(*outcome_));
}

void Fetch::cancel() noexcept {
    handle_ = nullptr;  // the handle has already let go
    // Destroy the callback last: its captures' destructors may cancel other fetches (never
    // this one, which is unlinked and closing by then).
    FetchCallback dropped = std::exchange(done_, nullptr);
    finish(make_error(Errc::cancelled, "cancelled"));
}

void Fetch::unlink_handle() noexcept {
    if (handle_ != nullptr) handle_->fetch_ = nullptr;
    handle_ = nullptr;
}

void Fetch::release_if_unused() noexcept {
    if (state_ == State::Closing && open_handles_ == 0 && !resolve_pending_) delete this;
}

// ---------------------------------------------------------------------------------------------
// The requester's side

FetchHandle::FetchHandle(Fetch* fetch) noexcept : fetch_(fetch) { fetch_->rebind(this); }

FetchHandle::FetchHandle(FetchHandle&& other) noexcept : fetch_(std::exchange(other.fetch_, nullptr)) {
    if (fetch_ != nullptr) fetch_->rebind(this);
}

FetchHandle& FetchHandle::operator=(FetchHandle&& other) noexcept {
    if (this == &other) return *this;
    Fetch* previous = std::exchange(fetch_, std::exchange(other.fetch_, nullptr));
    if (fetch_ != nullptr) fetch_->rebind(this);
    if (previous != nullptr) previous->cancel();
    return *this;
}

FetchHandle::~FetchHandle() { cancel(); }

void FetchHandle::cancel() noexcept {
    if (Fetch* fetch = std::exchange(fetch_, nullptr)) fetch->cancel();
}

Result<FetchHandle> start_fetch(uv_loop_t* loop, HttpRequest request, FetchLimits limits,
                                FetchCallback done) {
    if (auto valid = validate(loop, request, limits, done); !valid) return std::move(valid).error();
    auto transport = make_transport(request);
    if (!transport) return std::move(transport).error();
    return Fetch::launch(loop, std::move(request), limits, std::move(done), std::move(transport).value());
}

}  // namespace ocspgate::ocsp
