// Tests for ocsp/http_fetch: a real libuv loop against a scripted HTTP server on 127.0.0.1:0.
//
// Nothing asserts inside a loop callback: callbacks record into an Outcome, and the test
// asserts after uv_run() returns. Every exchange has a deadline of at most 300 ms, and a
// watchdog stops a loop that runs for more than 5 s, so a broken build fails instead of hanging.
#include "ocsp/http_fetch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tls/ossl.h"

namespace ocspgate::ocsp {
namespace {

using namespace std::chrono_literals;

constexpr auto exchange_deadline = 300ms;  // for exchanges expected to complete
constexpr auto short_deadline = 120ms;     // for exchanges expected to time out
constexpr std::size_t test_max_body = 64 * 1024;

uv_stream_t* as_stream(uv_tcp_t* tcp) { return reinterpret_cast<uv_stream_t*>(tcp); }
uv_handle_t* as_handle(auto* handle) { return reinterpret_cast<uv_handle_t*>(handle); }

// ---------------------------------------------------------------------------------------------
// A scripted HTTP server

enum class Behaviour {
    respond,       // send the response once the request is in, then close
    silent,        // read the request, never answer
    trickle,       // send the response one byte per trickle_interval, then close
    reset_midway,  // send the response (a truncated one), pause, then reset the connection
    flood,         // send the response (headers only), then flood_bytes of body
};

// True once `bytes` hold a request's head and its Content-Length worth of body.
bool is_complete_request(const std::string& bytes) {
    const auto head_end = bytes.find("\r\n\r\n");
    if (head_end == std::string::npos) return false;
    std::size_t length = 0;
    const auto field = bytes.find("Content-Length: ");
    if (field != std::string::npos && field < head_end) length = std::stoul(bytes.substr(field + 16));
    return bytes.size() >= head_end + 4 + length;
}

class TestServer {
public:
    TestServer(uv_loop_t* loop, Behaviour behaviour, std::string response, const char* ip = "127.0.0.1")
        : loop_(loop), behaviour_(behaviour), response_(std::move(response)), ip_(ip) {
        uv_tcp_init(loop_, &listener_);
        listener_.data = this;
        sockaddr_storage address{};
        if (uv_ip4_addr(ip, 0, reinterpret_cast<sockaddr_in*>(&address)) != 0) {
            uv_ip6_addr(ip, 0, reinterpret_cast<sockaddr_in6*>(&address));
        }
        status_ = uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&address), 0);
        if (status_ == 0) status_ = uv_listen(as_stream(&listener_), 64, on_connection);
        sockaddr_storage bound{};
        int length = sizeof bound;
        uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &length);
        // sin_port and sin6_port sit at the same offset.
        port_ = ntohs(reinterpret_cast<const sockaddr_in&>(bound).sin_port);
        // Only the exchanges keep the loop running: uv_run() returns once every fetch and
        // every accepted connection has finished.
        uv_unref(as_handle(&listener_));
    }
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;
    ~TestServer() { EXPECT_TRUE(live_.empty()) << "connections outlived the test's loop"; }

    int status() const { return status_; }
    std::string url(const std::string& path = "/ocsp") const {
        const std::string host = ip_.find(':') == std::string::npos ? ip_ : "[" + ip_ + "]";
        return "http://" + host + ":" + std::to_string(port_) + path;
    }
    std::uint16_t port() const { return port_; }

    void close() {
        if (!uv_is_closing(as_handle(&listener_))) uv_close(as_handle(&listener_), nullptr);
        for (Connection* connection : live_) close_connection(*connection);
    }

    // What the server saw; read these after uv_run() returns.
    std::string request;  // the bytes of the latest connection
    int connections = 0;
    std::size_t flood_sent = 0;  // flood body bytes the kernel took
    int flood_status = 0;        // the status of the flood write that failed, 0 if none did

    std::chrono::milliseconds trickle_interval = 40ms;
    std::size_t flood_bytes = 10 * 1024 * 1024;

private:
    enum class Then { nothing, close, reset, flood };

    struct Connection {
        explicit Connection(TestServer& owner) : server(owner) {}
        TestServer& server;
        uv_tcp_t tcp{};
        uv_timer_t pacer{};  // trickle
        uv_write_t write{};
        std::string outgoing;  // the bytes of the write in flight
        Then then = Then::nothing;
        std::string received;
        std::size_t trickled = 0;
        bool answering = false;
        bool writing = false;
        int open_handles = 2;
    };

    static Connection& of(auto* handle) { return *static_cast<Connection*>(handle->data); }

    static void on_connection(uv_stream_t* listener, int status) {
        auto& server = *static_cast<TestServer*>(listener->data);
        if (status < 0) return;
        auto* connection = new Connection(server);
        uv_tcp_init(server.loop_, &connection->tcp);
        uv_timer_init(server.loop_, &connection->pacer);
        connection->tcp.data = connection;
        connection->pacer.data = connection;
        server.live_.insert(connection);
        if (uv_accept(listener, as_stream(&connection->tcp)) != 0)
            return server.close_connection(*connection);
        ++server.connections;
        uv_read_start(as_stream(&connection->tcp), on_alloc, on_read);
    }

    static void on_alloc(uv_handle_t*, std::size_t suggested, uv_buf_t* buffer) {
        *buffer = uv_buf_init(new char[suggested], static_cast<unsigned>(suggested));
    }

    static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buffer) {
        const std::unique_ptr<char[]> owned(buffer->base);
        auto& connection = of(stream);
        auto& server = connection.server;
        if (nread < 0) return server.close_connection(connection);  // the client is done
        connection.received.append(buffer->base, static_cast<std::size_t>(nread));
        server.request = connection.received;
        if (!connection.answering && is_complete_request(connection.received)) {
            connection.answering = true;
            server.answer(connection);
        }
    }

    void answer(Connection& connection) {
        switch (behaviour_) {
            case Behaviour::respond: return send(connection, response_, Then::close);
            case Behaviour::silent: return;
            case Behaviour::trickle: {
                const auto every = static_cast<std::uint64_t>(trickle_interval.count());
                uv_timer_start(&connection.pacer, on_pace, every, every);
                return;
            }
            case Behaviour::reset_midway: return send(connection, response_, Then::reset);
            case Behaviour::flood: return send(connection, response_, Then::flood);
        }
    }

    void send(Connection& connection, std::string bytes, Then then) {
        connection.then = then;
        if (bytes.empty()) return after_write(connection);
        connection.outgoing = std::move(bytes);
        const uv_buf_t buffer =
            uv_buf_init(connection.outgoing.data(), static_cast<unsigned>(connection.outgoing.size()));
        if (uv_write(&connection.write, as_stream(&connection.tcp), &buffer, 1, on_written) != 0) {
            return close_connection(connection);
        }
        connection.writing = true;
    }

    static void on_written(uv_write_t* request, int status) {
        auto& connection = of(request->handle);
        auto& server = connection.server;
        connection.writing = false;
        if (status < 0 && connection.then == Then::flood && server.flood_status == 0)
            server.flood_status = status;
        if (status < 0 || uv_is_closing(as_handle(&connection.tcp)))
            return server.close_connection(connection);
        server.after_write(connection);
    }

    void after_write(Connection& connection) {
        switch (connection.then) {
            case Then::nothing: return;
            case Then::close: return close_connection(connection);
            case Then::reset: {
                // Let the client read the bytes first: libuv 1.44 reports a reset that arrives
                // together with data as UV_EOF (its POLLHUP short-circuit after a short read).
                uv_timer_start(
                    &connection.pacer,
                    [](uv_timer_t* timer) { of(timer).server.reset_connection(of(timer)); }, 20, 0);
                return;
            }
            case Then::flood: return flood_next(connection);
        }
    }

    void flood_next(Connection& connection) {
        constexpr std::size_t chunk = 64 * 1024;
        if (connection.received.empty()) return;  // never: the flood starts after the request
        if (connection.outgoing.size() == chunk && connection.outgoing.front() == 'x') flood_sent += chunk;
        if (flood_sent >= flood_bytes) return close_connection(connection);
        send(connection, std::string(chunk, 'x'), Then::flood);
    }

    static void on_pace(uv_timer_t* timer) {
        auto& connection = of(timer);
        auto& server = connection.server;
        if (connection.writing) return;
        if (connection.trickled == server.response_.size()) return server.close_connection(connection);
        server.send(connection, server.response_.substr(connection.trickled++, 1), Then::nothing);
    }

    void reset_connection(Connection& connection) {
        uv_tcp_close_reset(&connection.tcp, on_closed);
        uv_close(as_handle(&connection.pacer), on_closed);
    }

    void close_connection(Connection& connection) {
        if (!uv_is_closing(as_handle(&connection.tcp))) uv_close(as_handle(&connection.tcp), on_closed);
        if (!uv_is_closing(as_handle(&connection.pacer))) uv_close(as_handle(&connection.pacer), on_closed);
    }

    static void on_closed(uv_handle_t* handle) {
        auto* connection = &of(handle);
        if (--connection->open_handles > 0) return;
        connection->server.live_.erase(connection);
        delete connection;
    }

    uv_loop_t* loop_;
    uv_tcp_t listener_{};
    Behaviour behaviour_;
    std::string response_;
    std::string ip_;
    std::set<Connection*> live_;  // each freed by its own last close callback
    int status_ = 0;
    std::uint16_t port_ = 0;
};

// A port on 127.0.0.1 where nothing listens (bound, read back, released).
std::uint16_t closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

// Keeps every libuv threadpool thread asleep for `busy`, so that a uv_getaddrinfo queued after
// it waits: the way to hold a lookup in flight on purpose.
class BusyThreadpool {
public:
    BusyThreadpool(uv_loop_t* loop, std::chrono::milliseconds busy) : busy_(busy), work_(threads()) {
        for (auto& work : work_) {
            work.data = this;
            uv_queue_work(loop, &work, on_work, [](uv_work_t*, int) {});
        }
    }

private:
    static std::size_t threads() {
        const char* configured = std::getenv("UV_THREADPOOL_SIZE");
        return configured != nullptr ? static_cast<std::size_t>(std::max(1, std::atoi(configured))) : 4;
    }
    static void on_work(uv_work_t* work) {
        std::this_thread::sleep_for(static_cast<BusyThreadpool*>(work->data)->busy_);
    }

    std::chrono::milliseconds busy_;
    std::vector<uv_work_t> work_;
};

// ---------------------------------------------------------------------------------------------
// Recording outcomes

struct Outcome {
    int calls = 0;
    std::optional<Result<HttpResponse>> result;
    std::uint64_t elapsed_ms = 0;  // from start_fetch() to the callback
};

FetchCallback record(Outcome& out, std::function<void()> then = {}) {
    const auto started = uv_hrtime();
    return [&out, started, then = std::move(then)](Result<HttpResponse> result) noexcept {
        ++out.calls;
        out.result.emplace(std::move(result));
        out.elapsed_ms = (uv_hrtime() - started) / 1'000'000;
        if (then) then();
    };
}

::testing::AssertionResult succeeded(const Outcome& out) {
    if (out.calls != 1) return ::testing::AssertionFailure() << "the callback ran " << out.calls << " times";
    if (!out.result->ok()) return ::testing::AssertionFailure() << "failed: " << out.result->error().message;
    return ::testing::AssertionSuccess();
}

::testing::AssertionResult failed_with(const Outcome& out, Errc code) {
    if (out.calls != 1) return ::testing::AssertionFailure() << "the callback ran " << out.calls << " times";
    if (out.result->ok())
        return ::testing::AssertionFailure() << "succeeded with status " << (*out.result)->status;
    const auto& error = out.result->error();
    if (error.code != code) {
        return ::testing::AssertionFailure() << "failed with " << to_string(error.code) << " instead of "
                                             << to_string(code) << ": " << error.message;
    }
    return ::testing::AssertionSuccess() << error.message;
}

const HttpResponse& response(const Outcome& out) { return out.result->value(); }
std::string body_text(const Outcome& out) {
    const auto& body = response(out).body;
    return {body.begin(), body.end()};
}
const std::string& message(const Outcome& out) { return out.result->error().message; }

HttpRequest post(const std::string& url, const std::string& body = "request") {
    HttpRequest request;
    request.method = HttpRequest::Method::post;
    request.url = parse_url(url).value();
    request.content_type = "application/ocsp-request";
    request.body.assign(body.begin(), body.end());
    return request;
}

HttpRequest get(const std::string& url) {
    HttpRequest request;
    request.method = HttpRequest::Method::get;
    request.url = parse_url(url).value();
    return request;
}

FetchLimits limits(std::chrono::milliseconds timeout = exchange_deadline,
                   std::size_t max_body = test_max_body) {
    FetchLimits out;
    out.timeout = timeout;
    out.max_body = max_body;
    return out;
}

// ---------------------------------------------------------------------------------------------
// Fixture: one loop per test, a watchdog, and servers that outlive every loop run.

class HttpFetchTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(uv_loop_init(&loop_), 0);
        uv_timer_init(&loop_, &watchdog_);
        watchdog_.data = this;
        uv_timer_start(
            &watchdog_,
            [](uv_timer_t* timer) {
                auto& self = *static_cast<HttpFetchTest*>(timer->data);
                self.watchdog_fired_ = true;
                uv_stop(&self.loop_);
            },
            5000, 0);
        uv_unref(as_handle(&watchdog_));
    }

    void TearDown() override {
        for (auto& server : servers_) server->close();
        uv_close(as_handle(&watchdog_), nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);
        EXPECT_EQ(uv_loop_close(&loop_), 0) << "handles are still open on the loop";
        servers_.clear();
    }

    TestServer& serve(Behaviour behaviour, std::string response = {}) {
        servers_.push_back(std::make_unique<TestServer>(&loop_, behaviour, std::move(response)));
        EXPECT_EQ(servers_.back()->status(), 0) << "cannot listen on 127.0.0.1";
        return *servers_.back();
    }

    FetchHandle start(HttpRequest request, Outcome& out, FetchLimits bounds = limits(),
                      std::function<void()> then = {}) {
        auto handle = start_fetch(&loop_, std::move(request), bounds, record(out, std::move(then)));
        EXPECT_TRUE(handle.ok()) << handle.error().message;
        return handle.ok() ? std::move(handle).value() : FetchHandle{};
    }

    // Runs the loop until every exchange and server connection has finished.
    void run() {
        uv_run(&loop_, UV_RUN_DEFAULT);
        EXPECT_FALSE(watchdog_fired_) << "the loop ran for more than 5 s";
    }

    uv_loop_t loop_{};
    uv_timer_t watchdog_{};
    bool watchdog_fired_ = false;
    std::vector<std::unique_ptr<TestServer>> servers_;
};

const std::string ocsp_ok =
    "HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: 5\r\n\r\nhello";

// ---------------------------------------------------------------------------------------------
// The request on the wire

TEST_F(HttpFetchTest, PostSendsHostContentTypeContentLengthAndConnectionClose) {
    auto& server = serve(Behaviour::respond, ocsp_ok);
    Outcome out;
    auto handle = start(post(server.url("/ca1"), std::string("\x30\x03\x0a\x01\x00", 5)), out);
    run();
    ASSERT_TRUE(succeeded(out));
    const std::string host = "Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n";
    EXPECT_EQ(server.request, "POST /ca1 HTTP/1.1\r\n" + host +
                                  "Content-Type: application/ocsp-request\r\n"
                                  "Content-Length: 5\r\n"
                                  "Connection: close\r\n"
                                  "\r\n" +
                                  std::string("\x30\x03\x0a\x01\x00", 5));
}

TEST_F(HttpFetchTest, GetSendsNoBodyAndKeepsTheQuery) {
    auto& server = serve(Behaviour::respond, ocsp_ok);
    Outcome out;
    auto handle = start(get(server.url("/ocsp/MEMwQTA%2FMD0wOzAJBgUrDgMCGgUABBQ?x=1")), out);
    run();
    ASSERT_TRUE(succeeded(out));
    const std::string host = "Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n";
    EXPECT_EQ(server.request, "GET /ocsp/MEMwQTA%2FMD0wOzAJBgUrDgMCGgUABBQ?x=1 HTTP/1.1\r\n" + host +
                                  "Connection: close\r\n"
                                  "\r\n");
}

// ---------------------------------------------------------------------------------------------
// Bodies as llhttp frames them

TEST_F(HttpFetchTest, ContentLengthBodyIsReturned) {
    auto& server = serve(Behaviour::respond, ocsp_ok);
    Outcome out;
    auto handle = start(post(server.url()), out);
    run();
    ASSERT_TRUE(succeeded(out));
    EXPECT_EQ(response(out).status, 200);
    EXPECT_EQ(response(out).content_type, "application/ocsp-response");
    EXPECT_EQ(body_text(out), "hello");
    EXPECT_FALSE(handle.pending());
}

TEST_F(HttpFetchTest, ChunkedBodyIsReassembledWithExtensionsAndTrailersIgnored) {
    auto& server = serve(Behaviour::respond,
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                         "Content-Type: application/ocsp-response\r\n\r\n"
                         "3\r\nhel\r\n2;ext=1\r\nlo\r\n0\r\nContent-Type: text/evil\r\n\r\n");
    Outcome out;
    auto handle = start(post(server.url()), out);
    run();
    ASSERT_TRUE(succeeded(out));
    EXPECT_EQ(body_text(out), "hello");
    EXPECT_EQ(response(out).content_type, "application/ocsp-response");  // not the trailer's
}

TEST_F(HttpFetchTest, CloseDelimitedBodyCompletesAtEof) {
    auto& server = serve(Behaviour::respond,
                         "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nConnection: close\r\n\r\n"
                         "a body delimited by the close");
    Outcome out;
    auto handle = start(get(server.url("/ca.crl")), out);
    run();
    ASSERT_TRUE(succeeded(out));
    EXPECT_EQ(response(out).content_type, "application/pkix-crl");
    EXPECT_EQ(body_text(out), "a body delimited by the close");
}

TEST_F(HttpFetchTest, Http10ResponseIsAccepted) {
    auto& server =
        serve(Behaviour::respond, "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\n\r\nold");
    Outcome out;
    auto handle = start(post(server.url()), out);
    run();
    ASSERT_TRUE(succeeded(out));
    EXPECT_EQ(body_text(out), "old");
}

TEST_F(HttpFetchTest, InterimContinueResponseIsSkipped) {
    auto& server =
        serve(Behaviour::respond,
              "HTTP/1.1 100 Continue\r\nContent-Type: text/interim\r\n\r\n"
              "HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: 2\r\n\r\nok");
    Outcome out;
    auto handle = start(post(server.url()), out);
    run();
    ASSERT_TRUE(succeeded(out));
    EXPECT_EQ(response(out).status, 200);
    EXPECT_EQ(response(out).content_type, "application/ocsp-response");
    EXPECT_EQ(body_text(out), "ok");
}

TEST_F(HttpFetchTest, BytesAfterTheResponseAreIgnored) {
    auto& server = serve(Behaviour::respond, ocsp_ok + "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbad");
    Outcome out;
    auto handle = start(post(server.url()), out);
    run();
    ASSERT_TRUE(succeeded(out));
    EXPECT_EQ(body_text(out), "hello");
}

TEST_F(HttpFetchTest, MissingContentTypeIsEmpty) {
    auto& server = serve(Behaviour::respond, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
    Outcome out;
    auto handle = start(post(server.url()), out);
    run();
    ASSERT_TRUE(succeeded(out));
    EXPECT_EQ(response(out).content_type, "");
}

// ---------------------------------------------------------------------------------------------
// Statuses and malformed responses

TEST_F(HttpFetchTest, ServerErrorIsAResponseNotAFailure) {
    auto& server =
        serve(Behaviour::respond, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops");
    Outcome out;
    auto handle = start(post(server.url()), out);
    run();
    ASSERT_TRUE(succeeded(out));
    EXPECT_EQ(response(out).status, 500);
    EXPECT_EQ(body_text(out), "oops");
}

TEST_F(HttpFetchTest, GarbageIsAParseError) {
    // A TLS record header where the status line should be: an https responder on an http URL.
    auto& server = serve(Behaviour::respond, "\x16\x03\x01\x00\x05garbage\r\n\r\n");
    Outcome out;
    auto handle = start(post(server.url()), out);
    run();
    ASSERT_TRUE(failed_with(out, Errc::parse));
    EXPECT_NE(message(out).find("HPE_"), std::string::npos) << message(out);
}

TEST_F(HttpFetchTest, ConflictingLengthAndChunkedIsAParseError) {
    // Both framings at once is the request-smuggling shape; llhttp refuses it unless lenient.
    auto& server = serve(
        Behaviour::respond,
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    Outcome out;
    auto handle = start(post(server.url()), out);
    run();
    EXPECT_TRUE(failed_with(out, Errc::parse));
}

// ---------------------------------------------------------------------------------------------
// Deadlines

TEST_F(HttpFetchTest, SilentServerTimesOut) {
    auto& server = serve(Behaviour::silent);
    Outcome out;
    auto handle = start(post(server.url()), out, limits(short_deadline));
    run();
    ASSERT_TRUE(failed_with(out, Errc::timeout));
    EXPECT_NE(message(out).find("awaiting the response"), std::string::npos) << message(out);
    EXPECT_GE(out.elapsed_ms, 100u);
    EXPECT_LT(out.elapsed_ms, 1000u);
}

TEST_F(HttpFetchTest, ByteByByteSlowerThanTheDeadlineTimesOut) {
    // Every byte arrives well within a per-read timeout; only an overall deadline catches it.
    auto& server = serve(Behaviour::trickle, ocsp_ok);
    server.trickle_interval = 20ms;
    Outcome out;
    auto handle = start(post(server.url()), out, limits(short_deadline));
    run();
    ASSERT_TRUE(failed_with(out, Errc::timeout));
    EXPECT_LT(out.elapsed_ms, 1000u);
}

TEST_F(HttpFetchTest, TimeoutWhileResolvingIsDeliveredOnTime) {
    // The lookup waits behind a busy threadpool for longer than the deadline: the callback must
    // not wait for it, and the exchange must still be freed once the lookup returns (ASan).
    BusyThreadpool busy(&loop_, 300ms);
    auto& server = serve(Behaviour::respond, ocsp_ok);
    Outcome out;
    auto handle =
        start(post("http://localhost:" + std::to_string(server.port()) + "/"), out, limits(short_deadline));
    run();
    ASSERT_TRUE(failed_with(out, Errc::timeout));
    EXPECT_NE(message(out).find("resolving"), std::string::npos) << message(out);
    EXPECT_LT(out.elapsed_ms, 280u);
}

// ---------------------------------------------------------------------------------------------
// Connection failures

TEST_F(HttpFetchTest, ClosedPortIsUnavailable) {
    Outcome out;
    auto handle = start(post("http://127.0.0.1:" + std::to_string(closed_port()) + "/"), out);
    run();
    ASSERT_TRUE(failed_with(out, Errc::unavailable));
    EXPECT_NE(message(out).find("ECONNREFUSED"), std::string::npos) << message(out);
}

TEST_F(HttpFetchTest, ResetMidResponseIsUnavailable) {
    auto& server = serve(Behaviour::reset_midway, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
    Outcome out;
    auto handle = start(post(server.url()), out);
    run();
    ASSERT_TRUE(failed_with(out, Errc::unavailable));
    EXPECT_NE(message(out).find("ECONNRESET"), std::string::npos) << message(out);
}

TEST_F(HttpFetchTest, EofMidBodyIsUnavailable) {
    auto& server = serve(Behaviour::respond, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
    Outcome out;
    auto handle = start(post(server.url()), out);
    run();
    ASSERT_TRUE(failed_with(out, Errc::unavailable));
    EXPECT_NE(message(out).find("EOF"), std::string::npos) << message(out);
}

TEST_F(HttpFetchTest, EofBeforeAnyByteIsUnavailable) {
    auto& server = serve(Behaviour::respond, "");
    Outcome out;
    auto handle = start(post(server.url()), out);
    run();
    ASSERT_TRUE(failed_with(out, Errc::unavailable));
    EXPECT_NE(message(out).find("EOF"), std::string::npos) << message(out);
}

TEST_F(HttpFetchTest, Ipv6LiteralIsConnectedWithoutTheResolver) {
    servers_.push_back(std::make_unique<TestServer>(&loop_, Behaviour::respond, ocsp_ok, "::1"));
    auto& server = *servers_.back();
    if (server.status() != 0) GTEST_SKIP() << "no IPv6 loopback here: " << uv_err_name(server.status());
    Outcome out;
    auto handle = start(post(server.url("/v6")), out);
    run();
    ASSERT_TRUE(succeeded(out));
    EXPECT_NE(server.request.find("Host: [::1]:" + std::to_string(server.port()) + "\r\n"), std::string::npos)
        << server.request;
}

TEST_F(HttpFetchTest, HostNameIsResolved) {
    // Where "localhost" also resolves to ::1 (nothing listens there), this passes only because
    // the next address is tried; NextAddressIsTriedWhenConnectFails covers that everywhere.
    auto& server = serve(Behaviour::respond, ocsp_ok);
    Outcome out;
    auto handle = start(post("http://localhost:" + std::to_string(server.port()) + "/"), out);
    run();
    ASSERT_TRUE(succeeded(out));
    EXPECT_EQ(body_text(out), "hello");
    EXPECT_NE(server.request.find("Host: localhost:" + std::to_string(server.port()) + "\r\n"),
              std::string::npos);
}

sockaddr_storage address(const char* ip, std::uint16_t port) {
    sockaddr_storage out{};
    if (uv_ip4_addr(ip, port, reinterpret_cast<sockaddr_in*>(&out)) != 0) {
        uv_ip6_addr(ip, port, reinterpret_cast<sockaddr_in6*>(&out));
    }
    return out;
}

TEST_F(HttpFetchTest, NextAddressIsTriedWhenConnectFails) {
    auto& server = serve(Behaviour::respond, ocsp_ok);
    Outcome out;
    auto request = post("http://ocsp.example.test/ca1");
    request.connect_to = {address("127.0.0.1", closed_port()), address("127.0.0.1", server.port())};
    auto handle = start(request, out);
    run();
    ASSERT_TRUE(succeeded(out));
    EXPECT_EQ(server.connections, 1);
    EXPECT_NE(server.request.find("Host: ocsp.example.test\r\n"), std::string::npos) << server.request;
}

TEST_F(HttpFetchTest, LastConnectFailureIsReportedWhenEveryAddressFails) {
    Outcome out;
    auto request = post("http://ocsp.example.test/");
    request.connect_to = {address("127.0.0.1", closed_port()), address("::1", closed_port())};
    auto handle = start(request, out);
    run();
    ASSERT_TRUE(failed_with(out, Errc::unavailable));
    EXPECT_NE(message(out).find("cannot connect to [::1]:"), std::string::npos) << message(out);
    EXPECT_NE(message(out).find("the last of 2 addresses"), std::string::npos) << message(out);
}

// ---------------------------------------------------------------------------------------------
// Limits

TEST_F(HttpFetchTest, HugeBodyHitsTheLimitAndReadingStops) {
    // 10 MiB, close-delimited, so only counting the body can stop it.
    auto& server = serve(Behaviour::flood, "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\n\r\n");
    Outcome out;
    auto handle = start(get(server.url("/big.crl")), out);
    run();
    ASSERT_TRUE(failed_with(out, Errc::limit));
    EXPECT_LT(out.elapsed_ms, static_cast<std::uint64_t>(exchange_deadline.count()));
    // The client hung up instead of draining: the server could not hand over the whole flood.
    EXPECT_NE(server.flood_status, 0);
    EXPECT_LT(server.flood_sent, server.flood_bytes);
}

TEST_F(HttpFetchTest, DeclaredLengthOverTheLimitFailsAtTheHeaders) {
    auto& server =
        serve(Behaviour::respond, "HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\nfirst bytes");
    Outcome out;
    auto handle = start(post(server.url()), out);
    run();
    ASSERT_TRUE(failed_with(out, Errc::limit));
    EXPECT_NE(message(out).find("10485760"), std::string::npos) << message(out);
}

TEST_F(HttpFetchTest, ChunkedBodyOverTheLimitIsCut) {
    auto& server = serve(Behaviour::respond,
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n");
    Outcome out;
    auto handle = start(post(server.url()), out, limits(exchange_deadline, 10));
    run();
    EXPECT_TRUE(failed_with(out, Errc::limit));
}

TEST_F(HttpFetchTest, BodyExactlyAtTheLimitIsAccepted) {
    auto& server = serve(Behaviour::respond, ocsp_ok);
    Outcome out;
    auto handle = start(post(server.url()), out, limits(exchange_deadline, 5));
    run();
    ASSERT_TRUE(succeeded(out));
    EXPECT_EQ(body_text(out), "hello");
}

TEST_F(HttpFetchTest, ErrorStatusBodyIsCappedToo) {
    auto& server =
        serve(Behaviour::respond, "HTTP/1.1 503 Busy\r\nConnection: close\r\n\r\n" + std::string(100, 'e'));
    Outcome out;
    auto handle = start(post(server.url()), out, limits(exchange_deadline, 10));
    run();
    EXPECT_TRUE(failed_with(out, Errc::limit));
}

// ---------------------------------------------------------------------------------------------
// Large bodies are read a slice per loop iteration

// Counts the iterations of a loop (a uv_prepare runs once in each, before it polls). The
// handle lives on the heap until its close callback: libuv uses its memory until then, which
// is after this object is gone (the fixture's TearDown runs the loop).
class IterationCounter {
public:
    explicit IterationCounter(uv_loop_t* loop) : state_(new State) {
        uv_prepare_init(loop, &state_->prepare);
        state_->prepare.data = state_;
        uv_prepare_start(&state_->prepare, [](uv_prepare_t* p) { ++static_cast<State*>(p->data)->count; });
        uv_unref(as_handle(&state_->prepare));
    }
    IterationCounter(const IterationCounter&) = delete;
    IterationCounter& operator=(const IterationCounter&) = delete;
    ~IterationCounter() {
        uv_close(as_handle(&state_->prepare), [](uv_handle_t* h) { delete static_cast<State*>(h->data); });
    }
    std::size_t count() const { return state_->count; }

private:
    struct State {
        uv_prepare_t prepare{};
        std::size_t count = 0;
    };
    State* state_;
};

std::string patterned(std::size_t size) {
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>(i % 251);
    return out;
}

TEST_F(HttpFetchTest, LargeBodyArrivesWhole) {
    constexpr std::size_t size = 8 * 1024 * 1024;
    const std::string body = patterned(size);
    auto& server = serve(Behaviour::respond, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(size) +
                                                 "\r\n\r\n" + body);
    Outcome out;
    auto handle = start(get(server.url("/big.crl")), out, limits(2000ms, size));
    run();
    ASSERT_TRUE(succeeded(out));
    EXPECT_TRUE(body_text(out) == body) << "the body arrived changed";
}

TEST_F(HttpFetchTest, TheLoopGoesRoundBetweenSlicesOfALargeBody) {
    // A 10 MiB flood, written as fast as the client reads. libuv alone reads 32 x 16 KiB per
    // iteration (the whole flood took fewer than 40 iterations); a fetch stops after 128 KiB
    // and lets the loop go round first (http_fetch.cpp, read_bytes_per_turn).
    auto& server = serve(Behaviour::flood, "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\n\r\n");
    IterationCounter iterations(&loop_);
    Outcome out;
    auto handle = start(get(server.url("/big.crl")), out, limits(2000ms, 64 * 1024 * 1024));
    run();
    ASSERT_TRUE(succeeded(out));
    EXPECT_EQ(response(out).body.size(), server.flood_bytes);
    const std::size_t most_per_turn = 128 * 1024 + 16 * 1024;  // the slice, and the read that crosses it
    EXPECT_GE(iterations.count(), server.flood_bytes / most_per_turn)
        << "a loop iteration read more than a slice: " << iterations.count() << " iterations";
}

TEST_F(HttpFetchTest, CancelWhileReadingWaitsForTheNextTurnLeavesNothingOpen) {
    // A 10 MiB flood: the fetch is paused between slices most of the time it runs. TearDown
    // checks that every handle, the one that resumes reading included, is closed.
    auto& server = serve(Behaviour::flood, "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\n\r\n");
    Outcome out;
    auto handle = start(get(server.url("/big.crl")), out, limits(2000ms, 64 * 1024 * 1024));
    uv_idle_t canceller{};
    int turns = 0;
    struct Context {
        FetchHandle* handle;
        int* turns;
    } context{&handle, &turns};
    uv_idle_init(&loop_, &canceller);
    canceller.data = &context;
    uv_idle_start(&canceller, [](uv_idle_t* idle) {
        auto& c = *static_cast<Context*>(idle->data);
        if (++*c.turns < 20 && c.handle->pending()) return;  // well into the body (or done: then close)
        c.handle->cancel();
        uv_close(as_handle(idle), nullptr);
    });
    run();
    EXPECT_EQ(out.calls, 0);
    EXPECT_FALSE(handle.pending());
    EXPECT_GT(server.flood_sent, 0u);
    EXPECT_LT(server.flood_sent, server.flood_bytes);
}

TEST_F(HttpFetchTest, OversizedHeadersHitTheLimit) {
    auto& server = serve(Behaviour::respond, "HTTP/1.1 200 OK\r\nX-Padding: " + std::string(20 * 1024, 'a') +
                                                 "\r\nContent-Length: 0\r\n\r\n");
    Outcome out;
    auto handle = start(post(server.url()), out);
    run();
    ASSERT_TRUE(failed_with(out, Errc::limit));
    EXPECT_NE(message(out).find("headers"), std::string::npos) << message(out);
}

// ---------------------------------------------------------------------------------------------
// Misuse fails at once, without a callback

TEST_F(HttpFetchTest, HttpsWithoutTlsContextIsRejected) {
    Outcome out;
    auto handle = start_fetch(&loop_, post("https://127.0.0.1:1/"), limits(), record(out));
    ASSERT_FALSE(handle.ok());
    EXPECT_EQ(handle.error().code, Errc::invalid_argument);
    EXPECT_NE(handle.error().message.find("https needs a TLS client context"), std::string::npos);
    run();
    EXPECT_EQ(out.calls, 0);
}

TEST_F(HttpFetchTest, MisuseIsRejectedAtOnce) {
    Outcome out;
    auto get_with_body = get("http://127.0.0.1:1/");
    get_with_body.body = {1, 2, 3};
    EXPECT_FALSE(start_fetch(&loop_, get_with_body, limits(), record(out)).ok());
    EXPECT_FALSE(start_fetch(&loop_, post("http://127.0.0.1:1/"), limits(0ms), record(out)).ok());
    EXPECT_FALSE(
        start_fetch(&loop_, post("http://127.0.0.1:1/"), limits(exchange_deadline, 0), record(out)).ok());
    EXPECT_FALSE(start_fetch(&loop_, post("http://127.0.0.1:1/"), limits(), nullptr).ok());
    EXPECT_FALSE(start_fetch(nullptr, post("http://127.0.0.1:1/"), limits(), record(out)).ok());

    auto unix_socket = post("http://127.0.0.1:1/");
    unix_socket.connect_to.emplace_back().ss_family = AF_UNIX;
    EXPECT_FALSE(start_fetch(&loop_, unix_socket, limits(), record(out)).ok());

    auto injected_type = post("http://127.0.0.1:1/");
    injected_type.content_type = "application/ocsp-request\r\nX-Injected: 1";
    EXPECT_FALSE(start_fetch(&loop_, injected_type, limits(), record(out)).ok());

    // A hand-built Url gets the same scrutiny as a parsed one.
    auto hand_built = post("http://127.0.0.1:1/");
    hand_built.url.path = "/ HTTP/1.1\r\nX-Injected: 1\r\n";
    auto rejected = start_fetch(&loop_, hand_built, limits(), record(out));
    ASSERT_FALSE(rejected.ok());
    EXPECT_EQ(rejected.error().code, Errc::invalid_argument);
    auto fragment = post("http://127.0.0.1:1/");
    fragment.url.path = "/a#b";  // parse_url() never leaves a fragment in the path
    EXPECT_FALSE(start_fetch(&loop_, fragment, limits(), record(out)).ok());

    run();
    EXPECT_EQ(out.calls, 0);
}

// ---------------------------------------------------------------------------------------------
// Cancellation and handle lifetime

TEST_F(HttpFetchTest, CancelBeforeCompletionSuppressesTheCallback) {
    auto& server = serve(Behaviour::silent);
    Outcome out;
    auto handle = start(post(server.url()), out);
    uv_timer_t later{};
    uv_timer_init(&loop_, &later);
    later.data = &handle;
    uv_timer_start(
        &later,
        [](uv_timer_t* timer) {
            static_cast<FetchHandle*>(timer->data)->cancel();
            uv_close(as_handle(timer), nullptr);
        },
        30, 0);
    const auto started = uv_hrtime();
    run();
    EXPECT_EQ(out.calls, 0);
    EXPECT_FALSE(handle.pending());
    // Cancelling tears down at once rather than waiting out the deadline.
    EXPECT_LT((uv_hrtime() - started) / 1'000'000, static_cast<std::uint64_t>(exchange_deadline.count()));
}

TEST_F(HttpFetchTest, CancelRightAfterStartSuppressesTheCallback) {
    auto& server = serve(Behaviour::respond, ocsp_ok);
    Outcome out;
    auto handle = start(post(server.url()), out);
    handle.cancel();
    handle.cancel();  // idempotent
    run();
    EXPECT_EQ(out.calls, 0);
}

TEST_F(HttpFetchTest, CancelWhileResolvingWaitsForTheLookupThenFrees) {
    BusyThreadpool busy(&loop_, 100ms);
    Outcome out;
    auto handle = start(post("http://localhost:1/"), out);
    handle.cancel();
    run();  // leak or use-after-free would show under ASan
    EXPECT_EQ(out.calls, 0);
}

TEST_F(HttpFetchTest, DestroyingTheHandleCancels) {
    auto& server = serve(Behaviour::silent);
    Outcome out;
    { auto dropped = start(post(server.url()), out); }
    run();
    EXPECT_EQ(out.calls, 0);
}

TEST_F(HttpFetchTest, MovedHandleStillControlsTheFetch) {
    auto& server = serve(Behaviour::silent);
    Outcome out;
    auto first = start(post(server.url()), out);
    FetchHandle second = std::move(first);
    EXPECT_FALSE(first.pending());  // NOLINT(bugprone-use-after-move): testing the moved-from state
    EXPECT_TRUE(second.pending());
    second.cancel();
    run();
    EXPECT_EQ(out.calls, 0);
}

TEST_F(HttpFetchTest, MoveAssigningOverAPendingHandleCancelsItsFetch) {
    auto& silent = serve(Behaviour::silent);
    auto& answering = serve(Behaviour::respond, ocsp_ok);
    Outcome replaced, kept;
    auto handle = start(post(silent.url()), replaced);
    handle = start(post(answering.url()), kept);
    run();
    EXPECT_EQ(replaced.calls, 0);
    EXPECT_TRUE(succeeded(kept));
}

TEST_F(HttpFetchTest, CancelFromAnotherFetchsCallback) {
    auto& fast = serve(Behaviour::respond, ocsp_ok);
    auto& silent = serve(Behaviour::silent);
    Outcome first, second;
    FetchHandle second_handle;
    auto first_handle = start(post(fast.url()), first, limits(), [&] { second_handle.cancel(); });
    second_handle = start(post(silent.url()), second, limits());
    run();
    EXPECT_TRUE(succeeded(first));
    EXPECT_EQ(second.calls, 0);
}

TEST_F(HttpFetchTest, CancellingItselfInsideItsCallbackIsHarmless) {
    auto& server = serve(Behaviour::respond, ocsp_ok);
    Outcome out;
    FetchHandle handle;
    bool pending_in_callback = true;
    handle = start(post(server.url()), out, limits(), [&] {
        pending_in_callback = handle.pending();
        handle.cancel();
        handle = FetchHandle{};
    });
    run();
    EXPECT_TRUE(succeeded(out));
    EXPECT_FALSE(pending_in_callback);
}

TEST_F(HttpFetchTest, CallbackMayDestroyTheOwnerOfItsHandle) {
    // The usual owner: a lookup object holding its handle, destroyed when the answer arrives.
    struct Lookup {
        FetchHandle fetch;
    };
    auto& server = serve(Behaviour::respond, ocsp_ok);
    Outcome out;
    auto lookup = std::make_unique<Lookup>();
    lookup->fetch = start(post(server.url()), out, limits(), [&] { lookup.reset(); });
    run();
    EXPECT_TRUE(succeeded(out));
    EXPECT_EQ(lookup, nullptr);
}

TEST_F(HttpFetchTest, CallbackMayStartAnotherFetch) {
    auto& server = serve(Behaviour::respond, ocsp_ok);
    Outcome first, second;
    FetchHandle next;
    auto handle =
        start(post(server.url()), first, limits(), [&] { next = start(post(server.url()), second); });
    run();
    EXPECT_TRUE(succeeded(first));
    EXPECT_TRUE(succeeded(second));
    EXPECT_EQ(server.connections, 2);
}

TEST_F(HttpFetchTest, ManyConcurrentFetchesAllComplete) {
    auto& server = serve(Behaviour::respond, ocsp_ok);
    constexpr int count = 32;
    std::vector<Outcome> outs(count);
    std::vector<FetchHandle> handles;
    for (auto& out : outs) handles.push_back(start(post(server.url()), out));
    run();
    for (const auto& out : outs) EXPECT_TRUE(succeeded(out));
    EXPECT_EQ(server.connections, count);
}

// ---------------------------------------------------------------------------------------------
// Against a real responder: `openssl ocsp` (see /work/shared/PEERS.md)

// A throwaway CA, one leaf (serial 0x1001, good in the index) and an `openssl ocsp` responder
// for them on a free port, all in a scratch directory; the responder is killed by its pid.
class RealResponderTest : public HttpFetchTest {
protected:
    // A separate process on a shared two-core machine: a looser bound than in-process peers.
    static constexpr auto responder_deadline = 1000ms;

    void SetUp() override {
        HttpFetchTest::SetUp();
        if (std::system("command -v openssl >/dev/null 2>&1") != 0)
            GTEST_SKIP() << "openssl is not installed";
        char scratch[] = "/tmp/ocspgate-fetch-XXXXXX";
        ASSERT_NE(::mkdtemp(scratch), nullptr);
        dir_ = scratch;
        ASSERT_TRUE(make_pki()) << "see " << dir_ << "/setup.log";
        port_ = closed_port();
        start_responder();
        ASSERT_TRUE(wait_until_ready()) << "see " << dir_ << "/responder.log";
    }

    void TearDown() override {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
        if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
        HttpFetchTest::TearDown();
    }

    std::string url(const std::string& path = "/") const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }

    std::vector<std::uint8_t> request_der() const {
        std::ifstream in(dir_ + "/req.der", std::ios::binary);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }

    // The OCSP status the response gives the leaf, or -1 if it is not a successful response.
    int leaf_status(const std::vector<std::uint8_t>& der) const {
        const unsigned char* p = der.data();
        const tls::OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
        if (!response || OCSP_response_status(response.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL) return -1;
        const tls::OcspBasicRespPtr basic(OCSP_response_get1_basic(response.get()));
        const auto leaf = read_pem("leaf.pem");
        const auto ca = read_pem("ca.pem");
        const tls::OcspCertIdPtr id(OCSP_cert_to_id(nullptr, leaf.get(), ca.get()));
        int status = -1;
        if (!basic || !id ||
            OCSP_resp_find_status(basic.get(), id.get(), &status, nullptr, nullptr, nullptr, nullptr) != 1) {
            return -1;
        }
        return status;
    }

private:
    bool sh(const std::string& command) const {
        return std::system(("cd " + dir_ + " && " + command + " >>setup.log 2>&1").c_str()) == 0;
    }

    bool make_pki() const {
        const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
        std::ofstream(dir_ + "/index.txt") << "V\t491231235959Z\t\t1001\tunknown\t/CN=fetch-test-leaf\n";
        return sh("openssl req -x509 " + ec +
                  " -keyout ca.key -out ca.pem -subj /CN=fetch-test-ca -days 2") &&
               sh("openssl req " + ec + " -keyout leaf.key -out leaf.csr -subj /CN=fetch-test-leaf") &&
               sh("openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 0x1001 -days 2 -out "
                  "leaf.pem") &&
               sh("openssl ocsp -issuer ca.pem -cert leaf.pem -no_nonce -reqout req.der");
    }

    // -ignore_err: a stray non-HTTP connection must not make the responder exit.
    void start_responder() {
        const auto port = std::to_string(port_);
        const auto index = dir_ + "/index.txt", ca = dir_ + "/ca.pem", key = dir_ + "/ca.key",
                   log = dir_ + "/responder.log";
        std::vector<std::string> args = {"openssl",  "ocsp", "-index", index, "-port", port, "-CA",        ca,
                                         "-rsigner", ca,     "-rkey",  key,   "-nmin", "5",  "-ignore_err"};
        std::vector<char*> argv;
        for (auto& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t files;
        posix_spawn_file_actions_init(&files);
        posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0644);
        posix_spawn_file_actions_adddup2(&files, STDOUT_FILENO, STDERR_FILENO);
        if (::posix_spawnp(&pid_, "openssl", &files, nullptr, argv.data(), environ) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&files);
    }

    // Readiness by a real query, never a bare TCP connect (PEERS.md).
    bool wait_until_ready() const {
        for (int attempt = 0; attempt < 50 && pid_ > 0; ++attempt) {
            if (::waitpid(pid_, nullptr, WNOHANG) != 0) return false;  // it exited
            if (sh("openssl ocsp -issuer ca.pem -cert leaf.pem -url " + url() + " -noverify -timeout 1"))
                return true;
            std::this_thread::sleep_for(100ms);
        }
        return false;
    }

    tls::X509Ptr read_pem(const std::string& name) const {
        const tls::BioPtr bio(BIO_new_file((dir_ + "/" + name).c_str(), "r"));
        return tls::X509Ptr(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    }

    std::string dir_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

// RFC 6960 A.1: GET {url}/{url-encoding of base-64 encoding of the DER OCSPRequest}.
std::string get_path_for(const std::vector<std::uint8_t>& der) {
    std::string base64(4 * ((der.size() + 2) / 3) + 1, '\0');
    base64.resize(static_cast<std::size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(base64.data()),
                                                           der.data(), static_cast<int>(der.size()))));
    std::string path = "/";
    for (char c : base64) {
        if (c == '+')
            path += "%2B";
        else if (c == '/')
            path += "%2F";
        else if (c == '=')
            path += "%3D";
        else
            path += c;
    }
    return path;
}

TEST_F(RealResponderTest, PostGetsASuccessfulOcspResponse) {
    Outcome out;
    auto request = post(url());
    request.body = request_der();
    ASSERT_FALSE(request.body.empty());
    auto handle = start(request, out, limits(responder_deadline));
    run();
    ASSERT_TRUE(succeeded(out));
    EXPECT_EQ(response(out).status, 200);
    EXPECT_EQ(response(out).content_type, "application/ocsp-response");
    EXPECT_EQ(leaf_status(response(out).body), V_OCSP_CERTSTATUS_GOOD);
}

TEST_F(RealResponderTest, GetGetsASuccessfulOcspResponse) {
    Outcome out;
    auto handle = start(get(url(get_path_for(request_der()))), out, limits(responder_deadline));
    run();
    ASSERT_TRUE(succeeded(out));
    EXPECT_EQ(response(out).status, 200);
    EXPECT_EQ(leaf_status(response(out).body), V_OCSP_CERTSTATUS_GOOD);
}

}  // namespace
}  // namespace ocspgate::ocsp
