#include "proxy/core/listener.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy/log/log.h"
#include "proxy/core/worker.h"

namespace ocspgate::proxy {
namespace {

constexpr int kListenBacklog = 4096;

Error socket_error(const conf::Listener& l, const char* what, int err) {
    return make_error(Errc::io, fmt::format("listener {}: {} {}: {}", l.name, what, l.listen.text, strerror(err)));
}

}  // namespace

// libuv 1.44 has no UV_TCP_REUSEPORT, so the socket is made here and handed to uv_tcp_open
// (whose uv_listen() on a socket already listening only sets the backlog again).
Result<int> bind_listener_socket(const conf::Listener& l, bool reuse_port) {
    int fd = socket(l.listen.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return socket_error(l, "socket", errno);
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
        int err = errno;
        ::close(fd);
        return socket_error(l, "SO_REUSEPORT on", err);
    }
    if (l.listen.storage.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&l.listen.storage), l.listen.length) != 0) {
        int err = errno;
        ::close(fd);
        return socket_error(l, "cannot bind", err);
    }
    // Listening at once, rather than when the worker opens it, ends the window in which another
    // process's probe (address_owner.h) would not see this address as taken.
    if (listen(fd, kListenBacklog) != 0) {
        int err = errno;
        ::close(fd);
        return socket_error(l, "cannot listen on", err);
    }
    return fd;
}

Listener::Listener(Worker& worker, std::shared_ptr<const ListenerSettings> settings)
    : worker_(worker), settings_(std::move(settings)) {}

Listener::~Listener() = default;

Result<std::unique_ptr<Listener>> Listener::open(Worker& worker, std::shared_ptr<const ListenerSettings> settings,
                                                 int fd) {
    std::unique_ptr<Listener> listener(new Listener(worker, std::move(settings)));
    const conf::Listener& l = listener->settings().conf;
    uv_tcp_init(worker.loop(), &listener->handle_);
    listener->handle_.data = listener.get();
    if (int rc = uv_tcp_open(&listener->handle_, fd); rc != 0) {
        ::close(fd);
        Error error = socket_error(l, "uv_tcp_open", -rc);
        close(std::move(listener));
        return error;
    }
    if (int rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener->handle_), kListenBacklog, on_connection);
        rc != 0) {
        Error error = socket_error(l, "cannot listen on", -rc);
        close(std::move(listener));
        return error;
    }
    return listener;
}

void Listener::close(std::unique_ptr<Listener> listener) {
    Listener* raw = listener.release();
    uv_close(reinterpret_cast<uv_handle_t*>(&raw->handle_),
             [](uv_handle_t* h) { delete static_cast<Listener*>(h->data); });
}

void Listener::on_connection(uv_stream_t* server, int status) noexcept {
    auto* self = static_cast<Listener*>(server->data);
    if (status < 0) {
        log::Record("accept_error").field("listener", self->settings_->conf.name).field("error", uv_strerror(status))
            .emit(conf::LogLevel::warn);
        return;
    }
    self->worker_.accept(server, self->settings_);
}

}  // namespace ocspgate::proxy
