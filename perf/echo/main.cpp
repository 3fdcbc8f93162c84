// ocspgate-echo: the plain TCP echo backend of perf/compare, one libuv loop.
// With --sip it is a minimal SIP UAS instead: every request gets a 200 OK (perf/sip/message.h).
//
// Cheap on purpose (no fork or thread per connection, unlike `socat ... EXEC:cat`) so that the
// backend costs the servers under test as little CPU as possible. Half-close aware: on EOF it
// finishes writing what it has, then shuts down its side. Stops reading while more than
// kPauseBytes wait to be written back, so a peer that does not read cannot grow it.
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "perf/sip/message.h"

namespace {

constexpr std::size_t kPauseBytes = 1 << 20;
constexpr std::size_t kResumeBytes = 256 << 10;

struct Client {
    uv_tcp_t tcp{};
    uv_shutdown_t shutdown_req{};
    bool paused = false;
    bool eof = false;
    std::string sip_pending;  // --sip: bytes of a message not yet complete
};

bool sip_mode = false;

void on_alloc(uv_handle_t*, size_t suggested, uv_buf_t* buf) noexcept;
void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) noexcept;

struct WriteRequest {
    uv_write_t req{};
    char* bytes = nullptr;
};

void on_closed(uv_handle_t* h) noexcept { delete static_cast<Client*>(h->data); }

void close_client(Client* c) {
    if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&c->tcp)) == 0)
        uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), on_closed);
}

void on_alloc(uv_handle_t*, size_t suggested, uv_buf_t* buf) noexcept {
    *buf = uv_buf_init(static_cast<char*>(std::malloc(suggested)), static_cast<unsigned>(suggested));
}

void on_written(uv_write_t* req, int status) noexcept {
    auto* w = reinterpret_cast<WriteRequest*>(req);
    uv_stream_t* stream = req->handle;
    std::free(w->bytes);
    delete w;
    auto* c = static_cast<Client*>(stream->data);
    if (status == 0 && c->paused && !c->eof && uv_stream_get_write_queue_size(stream) < kResumeBytes &&
        uv_is_closing(reinterpret_cast<uv_handle_t*>(stream)) == 0) {
        c->paused = false;
        uv_read_start(stream, on_alloc, on_read);
    }
}

void on_shutdown(uv_shutdown_t* req, int) noexcept { close_client(static_cast<Client*>(req->data)); }

// Queues `bytes` (a malloc'd buffer, owned by the write from here on) for the client.
bool write_owned(Client* c, uv_stream_t* s, char* bytes, std::size_t n) {
    auto* w = new WriteRequest;
    w->bytes = bytes;
    uv_buf_t out = uv_buf_init(bytes, static_cast<unsigned>(n));
    w->req.handle = s;
    if (uv_write(&w->req, s, &out, 1, on_written) != 0) {
        on_written(&w->req, UV_ECANCELED);
        close_client(c);
        return false;
    }
    return true;
}

// --sip: answers every complete request in the buffer; closes on what it cannot frame.
void answer_sip(Client* c, uv_stream_t* s, const char* data, std::size_t n) {
    c->sip_pending.append(data, n);
    std::size_t used = 0;
    ocspgate::perf::SipFrame frame;
    for (;;) {
        const std::string_view rest = std::string_view{c->sip_pending}.substr(used);
        const auto status = ocspgate::perf::frame_sip(rest, frame);
        if (status == ocspgate::perf::FrameStatus::malformed) return close_client(c);
        if (status == ocspgate::perf::FrameStatus::incomplete) {
            used += frame.skipped;  // keep-alive CRLFs need no answer: never let them pile up
            break;
        }
        used += frame.skipped + frame.length;
        const std::string answer = ocspgate::perf::answer_ok(frame.head);
        if (answer.empty()) continue;
        auto* bytes = static_cast<char*>(std::malloc(answer.size()));
        std::memcpy(bytes, answer.data(), answer.size());
        if (!write_owned(c, s, bytes, answer.size())) return;
    }
    c->sip_pending.erase(0, used);
}

void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) noexcept {
    auto* c = static_cast<Client*>(s->data);
    if (n > 0 && sip_mode) {
        answer_sip(c, s, buf->base, static_cast<std::size_t>(n));
        std::free(buf->base);
        if (uv_is_closing(reinterpret_cast<uv_handle_t*>(s)) == 0 && uv_stream_get_write_queue_size(s) > kPauseBytes) {
            c->paused = true;  // a client that sends but does not read must not grow our queue
            uv_read_stop(s);
        }
        return;
    }
    if (n > 0) {
        auto* w = new WriteRequest;
        w->bytes = buf->base;
        uv_buf_t out = uv_buf_init(buf->base, static_cast<unsigned>(n));
        w->req.handle = s;
        if (uv_write(&w->req, s, &out, 1, on_written) != 0) {
            on_written(&w->req, UV_ECANCELED);
            close_client(c);
        } else if (uv_stream_get_write_queue_size(s) > kPauseBytes) {
            c->paused = true;
            uv_read_stop(s);
        }
        return;
    }
    std::free(buf->base);
    if (n == UV_EOF) {
        c->eof = true;
        c->shutdown_req.data = c;
        if (uv_shutdown(&c->shutdown_req, s, on_shutdown) != 0) close_client(c);
    } else if (n < 0) {
        close_client(c);
    }
}

void on_connection(uv_stream_t* server, int status) noexcept {
    if (status != 0) return;
    auto* c = new Client;
    c->tcp.data = c;
    uv_tcp_init(server->loop, &c->tcp);
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) return close_client(c);
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), on_alloc, on_read);
}

}  // namespace

int main(int argc, char** argv) {
    sip_mode = argc == 3 && std::strcmp(argv[1], "--sip") == 0;
    if (argc != 2 && !sip_mode) {
        std::fprintf(stderr, "usage: %s [--sip] PORT   (listens on 127.0.0.1)\n", argv[0]);
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);  // a peer that resets must not kill the backend
    uv_loop_t* loop = uv_default_loop();
    uv_tcp_t server{};
    uv_tcp_init(loop, &server);
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", std::atoi(argv[argc - 1]), &addr);
    int rc = uv_tcp_bind(&server, reinterpret_cast<const sockaddr*>(&addr), 0);
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server), 4096, on_connection);
    if (rc != 0) {
        std::fprintf(stderr, "ocspgate-echo: %s\n", uv_strerror(rc));
        return 1;
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}
