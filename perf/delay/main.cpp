// ocspgate-delay: a TCP relay that makes a fast local server look like a distant one, for the
// cold-cache runs of perf/compare (an OCSP responder that answers after 20 ms).
//
//   ocspgate-delay LISTEN_PORT TARGET_PORT DELAY_MS      (both on 127.0.0.1)
//
// Every byte from a client reaches the target DELAY_MS after it arrived here; the target's
// answer goes back at once. So each request/answer exchange takes at least DELAY_MS, and any
// number of exchanges wait in parallel (one libuv loop, timers, no thread per request), which is
// what a distant responder does and what a thread-per-request delaying proxy in Python could not
// do at thousands of requests per second. Chunks keep their order. Bounded: a connection that
// has more than kMaxQueuedBytes waiting stops being read until the queue drains.
#include <uv.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>

namespace {

constexpr std::size_t kMaxQueuedBytes = 1 << 20;
using Clock = std::chrono::steady_clock;

uint64_t delay_ms = 20;
sockaddr_in target{};

struct Chunk {
    Clock::time_point due;
    std::string bytes;
};

// One client connection and its connection to the target. Freed when all three handles closed.
struct Pair {
    uv_tcp_t client{};
    uv_tcp_t upstream{};
    uv_timer_t timer{};
    uv_connect_t connect_req{};
    std::deque<Chunk> queue;  // client -> target, not yet due
    std::size_t queued_bytes = 0;
    bool upstream_connected = false;
    bool client_eof = false;
    bool upstream_shut = false;  // the client's EOF has been passed on
    bool client_paused = false;  // too much queued: not reading from the client
    bool closing = false;
    int open_handles = 3;
};

struct Write {
    uv_write_t req{};
    std::string bytes;
};

void on_handle_closed(uv_handle_t* h) noexcept {
    auto* p = static_cast<Pair*>(h->data);
    if (--p->open_handles == 0) delete p;
}

void close_pair(Pair* p) {
    if (p->closing) return;
    p->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&p->client), on_handle_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&p->upstream), on_handle_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&p->timer), on_handle_closed);
}

void on_alloc(uv_handle_t*, size_t suggested, uv_buf_t* buf) noexcept {
    *buf = uv_buf_init(static_cast<char*>(std::malloc(suggested)), static_cast<unsigned>(suggested));
}

void on_written(uv_write_t* req, int status) noexcept {
    auto* w = reinterpret_cast<Write*>(req);
    auto* p = static_cast<Pair*>(req->data);
    delete w;
    if (status != 0 && status != UV_ECANCELED) close_pair(p);
}

void send(Pair* p, uv_tcp_t* to, std::string bytes) {
    auto* w = new Write{{}, std::move(bytes)};
    w->req.data = p;
    uv_buf_t buf = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
    if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(to), &buf, 1, on_written) != 0) {
        delete w;
        close_pair(p);
    }
}

void on_client_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) noexcept;

void on_shutdown(uv_shutdown_t* req, int) noexcept { delete req; }

// Sends every chunk that is due; re-arms the timer for the next one.
void release_due(Pair* p) {
    if (p->closing) return;
    const auto now = Clock::now();
    while (p->upstream_connected && !p->queue.empty() && p->queue.front().due <= now) {
        p->queued_bytes -= p->queue.front().bytes.size();
        send(p, &p->upstream, std::move(p->queue.front().bytes));
        p->queue.pop_front();
        if (p->closing) return;
    }
    if (p->client_paused && p->queued_bytes < kMaxQueuedBytes) {
        p->client_paused = false;
        uv_read_start(reinterpret_cast<uv_stream_t*>(&p->client), on_alloc, on_client_read);
    }
    if (!p->queue.empty()) {
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(p->queue.front().due - now).count();
        uv_timer_start(&p->timer, [](uv_timer_t* t) noexcept { release_due(static_cast<Pair*>(t->data)); },
                       static_cast<uint64_t>(wait > 0 ? wait : 0), 0);
    } else if (p->client_eof && p->upstream_connected && !p->upstream_shut) {
        p->upstream_shut = true;
        auto* req = new uv_shutdown_t;  // the client's half-close, passed on after its last byte
        if (uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&p->upstream), on_shutdown) != 0) delete req;
    }
}

void on_client_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) noexcept {
    auto* p = static_cast<Pair*>(s->data);
    if (n > 0) {
        p->queue.push_back({Clock::now() + std::chrono::milliseconds(delay_ms), std::string(buf->base, n)});
        p->queued_bytes += static_cast<std::size_t>(n);
        if (p->queued_bytes >= kMaxQueuedBytes) {
            p->client_paused = true;
            uv_read_stop(s);
        }
        if (p->queue.size() == 1) release_due(p);
    } else if (n == UV_EOF) {
        p->client_eof = true;
        uv_read_stop(s);
        if (p->queue.empty()) release_due(p);
    } else if (n < 0) {
        close_pair(p);
    }
    std::free(buf->base);
}

void on_upstream_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) noexcept {
    auto* p = static_cast<Pair*>(s->data);
    if (n > 0) {
        send(p, &p->client, std::string(buf->base, n));
    } else if (n < 0) {
        // The target ended (an HTTP/1.0 answer) or failed: pass the end on after what was written.
        auto* req = new uv_shutdown_t;
        req->data = p;
        if (n != UV_EOF || uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&p->client), [](uv_shutdown_t* r, int) noexcept {
                auto* pair = static_cast<Pair*>(r->data);
                delete r;
                close_pair(pair);
            }) != 0) {
            delete req;
            close_pair(p);
        }
        uv_read_stop(s);
    }
    std::free(buf->base);
}

void on_upstream_connected(uv_connect_t* req, int status) noexcept {
    auto* p = static_cast<Pair*>(req->data);
    if (p->closing) return;
    if (status != 0) return close_pair(p);
    p->upstream_connected = true;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&p->upstream), on_alloc, on_upstream_read);
    release_due(p);
}

void on_connection(uv_stream_t* server, int status) noexcept {
    if (status != 0) return;
    auto* p = new Pair;
    p->client.data = p->upstream.data = p->timer.data = p->connect_req.data = p;
    uv_tcp_init(server->loop, &p->client);
    uv_tcp_init(server->loop, &p->upstream);
    uv_timer_init(server->loop, &p->timer);
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&p->client)) != 0) return close_pair(p);
    uv_tcp_nodelay(&p->client, 1);
    uv_tcp_nodelay(&p->upstream, 1);
    uv_read_start(reinterpret_cast<uv_stream_t*>(&p->client), on_alloc, on_client_read);
    if (uv_tcp_connect(&p->connect_req, &p->upstream, reinterpret_cast<const sockaddr*>(&target),
                       on_upstream_connected) != 0)
        close_pair(p);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s LISTEN_PORT TARGET_PORT DELAY_MS   (127.0.0.1)\n", argv[0]);
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    delay_ms = std::strtoull(argv[3], nullptr, 10);
    uv_ip4_addr("127.0.0.1", std::atoi(argv[2]), &target);
    uv_loop_t* loop = uv_default_loop();
    uv_tcp_t server{};
    uv_tcp_init(loop, &server);
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", std::atoi(argv[1]), &addr);
    int rc = uv_tcp_bind(&server, reinterpret_cast<const sockaddr*>(&addr), 0);
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server), 4096, on_connection);
    if (rc != 0) {
        std::fprintf(stderr, "ocspgate-delay: %s\n", uv_strerror(rc));
        return 1;
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}
