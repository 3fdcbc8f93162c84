// The admin endpoint's HTTP/1.1 server: one libuv TCP listener on the MAIN loop (never a
// worker's), llhttp for requests, one request per connection (Connection: close).
//
// Bounds, so a misbehaving admin client can never cost more than a little memory on the main
// thread: a request larger than max_request_size gets 413, a malformed one 400, one that does
// not arrive within kReadDeadlineMs is dropped, and at most kMaxConnections are open at once
// (more are closed on accept). Routing is the owner's business (the Handler).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>

#include "conf/config.h"
#include "base/result.h"

namespace ocspgate::proxy::admin {

struct AdminResponse {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    std::string allow;  // for 405: the Allow header's value
};

class AdminConnection;

class AdminServer {
public:
    // Called for every complete, well-formed request with its method and path (query removed).
    // The handler answers through `reply`, at once or later on the same loop (POST /reload
    // answers once the new configuration is built); a reply after the client is gone, or a
    // second one, is dropped.
    using Reply = std::function<void(AdminResponse)>;
    using Handler = std::function<void(std::string_view method, std::string_view path, Reply reply)>;

    static constexpr std::uint64_t kReadDeadlineMs = 5000;
    static constexpr std::uint64_t kLingerMs = 1000;  // after the answer: wait for the client's FIN
    static constexpr std::size_t kMaxConnections = 64;

    // Binds and listens on `loop` (the main loop). Only called on the loop's thread.
    // `inherited_fd` (owned from now on): a socket already listening, handed over by socket
    // activation or a binary upgrade; used instead of binding when its address is the
    // configured one, closed otherwise.
    static Result<std::unique_ptr<AdminServer>> create(uv_loop_t* loop, const conf::Admin& settings, Handler handler,
                                                       int inherited_fd = -1);
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    // Stops listening and closes every open connection. Idempotent. The object must outlive
    // the loop run that processes the close callbacks.
    void close();

    const std::string& address() const { return address_; }
    // The listening socket, to hand to a binary upgrade (-1 once closed).
    int fd() const;

    // AdminConnection callbacks.
    void release(AdminConnection* connection);
    const Handler& handler() const { return handler_; }
    std::size_t max_request_size() const { return max_request_size_; }

private:
    AdminServer(uv_loop_t* loop, const conf::Admin& settings, Handler handler);
    static void on_connection(uv_stream_t* server, int status) noexcept;

    uv_loop_t* loop_;
    std::string address_;
    std::size_t max_request_size_;
    Handler handler_;
    uv_tcp_t listener_{};
    bool closed_ = false;
    std::list<std::unique_ptr<AdminConnection>> connections_;
};

}  // namespace ocspgate::proxy::admin
