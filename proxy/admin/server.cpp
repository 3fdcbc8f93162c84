#include "proxy/admin/server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <span>

#include "proxy/admin/request.h"
#include "proxy/log/log.h"

namespace ocspgate::proxy::admin {
namespace {

constexpr std::size_t kReadChunk = 4096;

std::string_view reason_phrase(int status) {
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 409: return "Conflict";
        case 422: return "Unprocessable Content";
        case 413: return "Content Too Large";
        case 503: return "Service Unavailable";
        default: return "Error";
    }
}

std::string serialize(const AdminResponse& r) {
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(reason_phrase(r.status)) + "\r\n";
    out += "Content-Type: " + r.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    if (!r.allow.empty()) out += "Allow: " + r.allow + "\r\n";
    out += "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
    out += r.body;
    return out;
}

AdminResponse error_response(int status) {
    return {status, "text/plain; charset=utf-8", std::string(reason_phrase(status)) + "\n", ""};
}

}  // namespace

// One admin client: read one request (bounded in size and time), answer, half-close, wait
// briefly for the client's FIN so the answer is not lost to a reset, close.
class AdminConnection {
public:
    enum class State { reading, answering, lingering, closing };

    explicit AdminConnection(AdminServer& server) : server_(server), request_(server.max_request_size()) {}

    bool start(uv_loop_t* loop, uv_stream_t* listener) {
        uv_tcp_init(loop, &tcp_);
        uv_timer_init(loop, &timer_);
        tcp_.data = timer_.data = this;
        if (uv_accept(listener, stream()) != 0) return false;
        uv_timer_start(&timer_, on_deadline, AdminServer::kReadDeadlineMs, 0);
        uv_read_start(stream(), on_alloc, on_read);
        return true;
    }

    void close() {
        if (state_ == State::closing) return;
        state_ = State::closing;
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_closed);
        uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_closed);
    }

    std::list<std::unique_ptr<AdminConnection>>::iterator position;

private:
    uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }

    static void on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) noexcept {
        auto* self = static_cast<AdminConnection*>(handle->data);
        *buf = uv_buf_init(self->read_buffer_.data(), static_cast<unsigned>(self->read_buffer_.size()));
    }

    static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
        auto* self = static_cast<AdminConnection*>(stream->data);
        if (nread == 0) return;
        if (nread == UV_EOF && self->state_ == State::answering) {
            // The client half-closed after its request: finish the answer, then close.
            self->peer_closed_ = true;
            uv_read_stop(stream);
            return;
        }
        if (nread < 0) return self->close();  // EOF or error; in `lingering` this is the goal
        if (self->state_ != State::reading) return;  // discard whatever follows the request
        self->consume(buf->base, static_cast<std::size_t>(nread));
    }

    void consume(const char* data, std::size_t len) {
        switch (request_.feed(std::span<const char>(data, len))) {
            case AdminRequestParser::Outcome::need_more: return;
            case AdminRequestParser::Outcome::complete: {
                state_ = State::answering;
                std::weak_ptr<AdminConnection*> alive = alive_;
                return server_.handler()(request_.method(), request_.path(), [alive](AdminResponse response) {
                    if (auto self = alive.lock(); self && (*self)->state_ == State::answering && (*self)->response_.empty())
                        (*self)->answer(response);
                });
            }
            case AdminRequestParser::Outcome::too_large: return answer(error_response(413));
            case AdminRequestParser::Outcome::malformed: return answer(error_response(400));
        }
    }

    void answer(const AdminResponse& response) {
        state_ = State::answering;
        response_ = serialize(response);
        uv_buf_t buf = uv_buf_init(response_.data(), static_cast<unsigned>(response_.size()));
        write_.data = this;
        if (uv_write(&write_, stream(), &buf, 1, on_written) != 0) close();
    }

    static void on_written(uv_write_t* req, int status) noexcept {
        auto* self = static_cast<AdminConnection*>(req->data);
        if (self->state_ == State::closing) return;
        if (status != 0 || self->peer_closed_) return self->close();
        self->state_ = State::lingering;
        self->shutdown_.data = self;
        if (uv_shutdown(&self->shutdown_, self->stream(), on_shutdown) != 0) return self->close();
        uv_timer_start(&self->timer_, on_deadline, AdminServer::kLingerMs, 0);
    }

    static void on_shutdown(uv_shutdown_t*, int) noexcept {}

    static void on_deadline(uv_timer_t* timer) noexcept { static_cast<AdminConnection*>(timer->data)->close(); }

    static void on_closed(uv_handle_t* handle) noexcept {
        auto* self = static_cast<AdminConnection*>(handle->data);
        if (--self->open_handles_ > 0) return;
        self->server_.release(self);  // frees *self
    }

    AdminServer& server_;
    AdminRequestParser request_;
    uv_tcp_t tcp_{};
    uv_timer_t timer_{};
    uv_write_t write_{};
    uv_shutdown_t shutdown_{};
    State state_ = State::reading;
    int open_handles_ = 2;
    bool peer_closed_ = false;  // EOF arrived while the answer was being written
    std::string response_;  // owned until the write completes (the handles close after it)
    std::array<char, kReadChunk> read_buffer_{};
    // Expires with this object: a reply that arrives after the connection closed is dropped.
    std::shared_ptr<AdminConnection*> alive_ = std::make_shared<AdminConnection*>(this);
};

AdminServer::AdminServer(uv_loop_t* loop, const conf::Admin& settings, Handler handler)
    : loop_(loop), address_(settings.listen.text), max_request_size_(settings.max_request_size),
      handler_(std::move(handler)) {}

AdminServer::~AdminServer() = default;

namespace {

// Whether `fd` is bound to exactly `want` (family, address, port).
bool bound_to(int fd, const sockaddr_storage& want) {
    sockaddr_storage have{};
    socklen_t length = sizeof have;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&have), &length) != 0 || have.ss_family != want.ss_family) return false;
    if (want.ss_family == AF_INET) {
        const auto& a = reinterpret_cast<const sockaddr_in&>(have);
        const auto& b = reinterpret_cast<const sockaddr_in&>(want);
        return a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr;
    }
    const auto& a = reinterpret_cast<const sockaddr_in6&>(have);
    const auto& b = reinterpret_cast<const sockaddr_in6&>(want);
    return a.sin6_port == b.sin6_port && std::memcmp(&a.sin6_addr, &b.sin6_addr, sizeof a.sin6_addr) == 0;
}

}  // namespace

int AdminServer::fd() const {
    uv_os_fd_t fd = -1;
    if (closed_ || uv_fileno(reinterpret_cast<const uv_handle_t*>(&listener_), &fd) != 0) return -1;
    return fd;
}

Result<std::unique_ptr<AdminServer>> AdminServer::create(uv_loop_t* loop, const conf::Admin& settings, Handler handler,
                                                         int inherited_fd) {
    std::unique_ptr<AdminServer> server(new AdminServer(loop, settings, std::move(handler)));
    sockaddr_storage storage = settings.listen.storage;
    if (settings.listen.length == 0) {  // the documented default
        server->address_ = "127.0.0.1:9901";
        uv_ip4_addr("127.0.0.1", 9901, reinterpret_cast<sockaddr_in*>(&storage));
    }
    uv_tcp_init(loop, &server->listener_);
    server->listener_.data = server.get();
    if (inherited_fd >= 0 && !bound_to(inherited_fd, storage)) {
        ::close(inherited_fd);
        inherited_fd = -1;
    }
    int rc = inherited_fd >= 0 ? uv_tcp_open(&server->listener_, inherited_fd)
                               : uv_tcp_bind(&server->listener_, reinterpret_cast<const sockaddr*>(&storage), 0);
    if (rc != 0 && inherited_fd >= 0) ::close(inherited_fd);
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server->listener_), 64, on_connection);
    if (rc != 0) {
        // The handle is already registered with the loop: it frees the server once closed.
        std::string message = "admin: cannot listen on " + server->address_ + ": " + uv_strerror(rc);
        server->closed_ = true;
        uv_close(reinterpret_cast<uv_handle_t*>(&server.release()->listener_),
                 [](uv_handle_t* handle) { delete static_cast<AdminServer*>(handle->data); });
        return make_error(Errc::config, std::move(message));
    }
    return server;
}

void AdminServer::close() {
    if (closed_) return;
    closed_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    for (auto& connection : connections_) connection->close();
}

void AdminServer::on_connection(uv_stream_t* listener, int status) noexcept {
    auto* self = static_cast<AdminServer*>(listener->data);
    if (status != 0 || self->closed_) return;
    self->connections_.push_back(std::make_unique<AdminConnection>(*self));
    AdminConnection& connection = *self->connections_.back();
    connection.position = std::prev(self->connections_.end());
    bool accepted = connection.start(self->loop_, listener);
    if (!accepted || self->connections_.size() > kMaxConnections) connection.close();
}

void AdminServer::release(AdminConnection* connection) { connections_.erase(connection->position); }

}  // namespace ocspgate::proxy::admin
