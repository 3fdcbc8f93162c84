// A tiny HTTP server on 127.0.0.1:0 for the engine's tests (OCSP queries, CRL downloads): it
// runs on the test's own libuv loop, reads one request per connection and answers it with the
// next canned reply. Same approach as the scripted server of http_fetch_test.cpp, reduced to
// what the engine's tests need: whole replies, silence, and a hang-up.
//
// Everything here runs on the loop's thread; read what the server saw after uv_run() returns.
#pragma once

#include <uv.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace ocspgate::ocsp::testing {

struct CannedReply {
    enum class Kind {
        respond,  // send `bytes` once the request is in, then close
        silent,   // read the request, never answer (the client's deadline passes)
        hang_up,  // close as soon as the request is in, without a byte
    };
    Kind kind = Kind::respond;
    std::string bytes;
};

// "HTTP/1.1 200 OK" with `content_type` and a Content-Length body.
CannedReply http_ok(const std::vector<std::uint8_t>& body,
                    const std::string& content_type = "application/ocsp-response");
// An empty response with `status`, e.g. 500.
CannedReply http_status(int status);
CannedReply silence();
CannedReply hang_up();

class LoopbackServer {
public:
    // Connection n gets replies[n], or the last reply once they run out.
    LoopbackServer(uv_loop_t* loop, std::vector<CannedReply> replies);
    LoopbackServer(const LoopbackServer&) = delete;
    LoopbackServer& operator=(const LoopbackServer&) = delete;
    ~LoopbackServer();  // close() must have run and the loop must have closed every connection

    int status() const { return status_; }  // of bind + listen; 0 when listening
    std::string url(const std::string& path = "/") const;

    // Stops listening and closes every connection; the loop frees them.
    void close();

    // What the server saw.
    int requests() const { return static_cast<int>(request_lines_.size()); }
    const std::vector<std::string>& request_lines() const { return request_lines_; }  // "POST /x HTTP/1.1"
    const std::vector<std::string>& request_heads() const { return request_heads_; }  // line and headers

private:
    struct Connection;
    static void on_connection(uv_stream_t* listener, int status) noexcept;
    static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buffer) noexcept;
    static void on_written(uv_write_t* request, int status) noexcept;
    static void on_closed(uv_handle_t* handle) noexcept;
    void answer(Connection& connection);
    void close_connection(Connection& connection);

    uv_loop_t* loop_;
    uv_tcp_t listener_{};
    std::vector<CannedReply> replies_;
    std::set<Connection*> live_;  // each freed by its close callback
    std::vector<std::string> request_lines_;
    std::vector<std::string> request_heads_;
    int status_ = 0;
    std::uint16_t port_ = 0;
};

// A port on 127.0.0.1 where nothing listens (bound, read back, released): connecting is refused.
std::uint16_t closed_port();

}  // namespace ocspgate::ocsp::testing
