#include "perf/load/runner.h"

#include <algorithm>
#include <cstdio>
#include <memory>

namespace ocspgate::perf {
namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

Clock::duration seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// A write request owns its bytes until libuv calls back.
struct WriteRequest {
    uv_write_t req{};
    std::vector<char> bytes;
};

}  // namespace

// One client connection. Lives inside the runner's `live_` list from start until the close
// callback frees it; `data` of the tcp handle points back here.
struct Runner::Connection {
    enum class State { connecting, handshaking, exchanging, up, closing };

    Runner& runner;
    ClientTls tls;
    uv_tcp_t tcp{};
    uv_connect_t connect_req{};
    State state = State::connecting;
    Clock::time_point started = Clock::now();
    Clock::time_point handshake_done;
    Clock::time_point deadline;
    std::vector<char> plaintext;  // echo bytes received so far
    std::vector<char> outgoing;   // scratch for take_enc_out
    SipSession sip;               // sip mode only
    Clock::time_point sip_sent;
    bool sip_waiting = false;     // a request is out, its final response not yet in

    Connection(Runner& r, const ClientIdentity& identity, int index)
        : runner{r}, tls{identity}, sip{r.options().sip_method, index} {
        deadline = started + seconds(r.options().connection_timeout_s);
        tcp.data = this;
    }

    void flush() {
        outgoing.clear();
        tls.take_enc_out(outgoing);
        write_outgoing();
    }

    // Writes `outgoing` (ciphertext, or plaintext with --plain) to the socket.
    void write_outgoing() {
        if (outgoing.empty() || state == State::closing) return;
        auto* w = new WriteRequest;
        w->bytes.swap(outgoing);
        w->req.data = this;
        uv_buf_t buf = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
        const int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp), &buf, 1, on_written);
        if (rc != 0) {
            delete w;
            finish(std::string{"write: "} + uv_err_name(rc));
        }
    }

    static void on_written(uv_write_t* req, int status) noexcept {
        std::unique_ptr<WriteRequest> w{reinterpret_cast<WriteRequest*>(req)};
        auto* c = static_cast<Connection*>(req->data);
        if (status == UV_ECANCELED || c->state == State::closing) return;
        if (status != 0) return c->finish(std::string{"write: "} + uv_err_name(status));
        if (c->runner.options().mode == Mode::bulk && c->state == State::up) c->pump();
    }

    void start(const sockaddr_in& to, int index) {
        uv_tcp_init(runner.loop(), &tcp);
        uv_tcp_nodelay(&tcp, 1);
        if (runner.options().source_addresses > 1) {
            const int n = index % runner.options().source_addresses;
            sockaddr_in from{};
            const std::string ip = "127.1." + std::to_string(n / 250) + "." + std::to_string(n % 250 + 1);
            uv_ip4_addr(ip.c_str(), 0, &from);
            const int rc = uv_tcp_bind(&tcp, reinterpret_cast<const sockaddr*>(&from), 0);
            if (rc != 0) return finish(std::string{"bind: "} + uv_err_name(rc));
        }
        connect_req.data = this;
        const int rc = uv_tcp_connect(&connect_req, &tcp, reinterpret_cast<const sockaddr*>(&to), on_connected);
        if (rc != 0) finish(std::string{"connect: "} + uv_err_name(rc));
    }

    static void on_connected(uv_connect_t* req, int status) noexcept {
        auto* c = static_cast<Connection*>(req->data);
        if (status == UV_ECANCELED || c->state == State::closing) return;
        if (status != 0) return c->finish(std::string{"connect: "} + uv_err_name(status));
        c->state = State::handshaking;
        uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), on_alloc, on_read);
        if (c->runner.options().plain) {
            c->handshake_done = Clock::now();  // no handshake: "up" once connected
            return c->go_up();
        }
        c->advance();
    }

    static void on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
        auto* c = static_cast<Connection*>(h->data);
        *buf = uv_buf_init(c->runner.read_buffer(), static_cast<unsigned>(c->runner.read_buffer_size()));
    }

    static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) noexcept {
        auto* c = static_cast<Connection*>(s->data);
        if (n == 0 || c->state == State::closing) return;
        if (n < 0) {
            return c->finish(std::string{n == UV_EOF ? "eof" : uv_err_name(static_cast<int>(n))} +
                             " while " + c->state_name());
        }
        if (c->runner.options().plain) {
            c->plaintext.insert(c->plaintext.end(), buf->base, buf->base + n);
        } else {
            c->tls.enc_in({buf->base, static_cast<std::size_t>(n)});
        }
        c->advance();
    }

    const char* state_name() const {
        switch (state) {
            case State::connecting: return "connecting";
            case State::handshaking: return "handshaking";
            case State::exchanging: return "exchanging";
            case State::up: return "up";
            case State::closing: return "closing";
        }
        return "?";
    }

    // Drives the connection as far as the bytes received so far allow.
    void advance() {
        const RunOptions& o = runner.options();
        if (state == State::handshaking) {
            const Step step = tls.handshake();
            if (step == Step::failed) return fail_tls();
            flush();
            if (step == Step::want_more) return;
            handshake_done = Clock::now();
            if (o.mode == Mode::bulk || o.mode == Mode::sip) return go_up();
            if (o.message_bytes == 0) return finish({});
            state = State::exchanging;
            const std::vector<char> message(o.message_bytes, 'x');
            if (tls.clear_in(message) == Step::failed) return fail_tls();
            flush();
        }
        if (state == State::exchanging || state == State::up) {
            const std::size_t before = plaintext.size();
            Step step = Step::want_more;
            if (!o.plain) {
                step = tls.clear_out(plaintext);
                flush();  // a read may have produced alerts or key updates
            }
            if (o.mode == Mode::bulk) {
                runner.stats().bytes_received += plaintext.size() - before;
                plaintext.clear();
            }
            if (step == Step::failed) return fail_tls();
            if (step == Step::done) return finish(std::string{"closed by server while "} + state_name());
            if (o.mode == Mode::sip && state == State::up) return take_sip_responses();
            if (state == State::exchanging && plaintext.size() >= o.message_bytes) {
                if (o.mode == Mode::idle) return go_up();
                finish({});
            }
        }
    }

    void go_up() {
        state = State::up;
        runner.on_connection_up(this);
        if (runner.options().mode == Mode::bulk) pump();
        if (runner.options().mode == Mode::sip) send_sip_request();
    }

    // sip: one request at a time; the next goes out when the final response to this one is in.
    void send_sip_request() {
        if (state != State::up || runner.stopping()) return;
        const std::string request = sip.next_request();
        sip_sent = Clock::now();
        sip_waiting = true;
        deadline = sip_sent + seconds(runner.options().connection_timeout_s);
        if (runner.options().plain) {
            outgoing.assign(request.begin(), request.end());
            return write_outgoing();
        }
        if (tls.clear_in(request) == Step::failed) return fail_tls();
        flush();
    }

    void take_sip_responses() {
        std::string failure;
        for (;;) {
            const SipSession::Got got = sip.take_response(plaintext, failure);
            if (got == SipSession::Got::nothing) return;
            if (got == SipSession::Got::failed) return finish(failure);
            sip_waiting = false;
            if (runner.measuring()) {
                ++runner.stats().transactions;
                runner.stats().transaction_ms.push_back(ms_between(sip_sent, Clock::now()));
            }
            send_sip_request();
            if (state != State::up) return;
        }
    }

    // Bulk: keeps up to 256 KiB of ciphertext queued in libuv, a few chunks per call: loopback
    // sockets take megabytes before writes queue, and one connection must not starve the
    // loop's other connections (each write's callback calls pump again).
    void pump() {
        static const std::vector<char> chunk(runner.options().bulk_chunk_bytes, 'b');
        const auto* stream = reinterpret_cast<const uv_stream_t*>(&tcp);
        for (int i = 0; i < 4 && state == State::up && !runner.stopping() &&
                        uv_stream_get_write_queue_size(stream) < 256 * 1024;
             ++i) {
            if (tls.clear_in(chunk) == Step::failed) return fail_tls();
            runner.stats().bytes_sent += chunk.size();
            flush();
        }
    }

    void fail_tls() {
        flush();  // a client-side alert still goes out
        finish(tls.failure());
    }

    // Records the outcome once and closes. An empty `failure` is success (handshake mode) or
    // an orderly end of the run (bulk, idle).
    void finish(const std::string& failure) {
        if (state == State::closing) return;
        if (failure.empty()) {
            tls.shutdown();
            flush();
        }
        const bool was_up = state == State::up;
        state = State::closing;
        runner.on_connection_done(this, failure, was_up);
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp), on_closed);
    }

    static void on_closed(uv_handle_t* h) noexcept { delete static_cast<Connection*>(h->data); }
};

Runner::Runner(RunOptions options, std::vector<ClientIdentity>& identities)
    : options_{std::move(options)}, identities_{identities} {
    uv_loop_init(&loop_);
    uv_timer_init(&loop_, &tick_);
    tick_.data = this;
}

Runner::~Runner() {
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
}

bool Runner::may_start() const {
    if (stopping_) return false;
    switch (options_.mode) {
        case Mode::handshake:
            return (options_.count == 0 || stats_.started < options_.count) && open_ < options_.concurrency &&
                   (options_.rate <= 0 || static_cast<double>(stats_.started) < 1 + options_.rate * elapsed());
        case Mode::bulk:
        case Mode::sip:
            return stats_.started < static_cast<std::uint64_t>(options_.concurrency);
        case Mode::idle:
            return stats_.started < options_.count && open_ - up_ < options_.concurrency;
    }
    return false;
}

void Runner::start_connection() {
    const ClientIdentity& id = identities_[next_identity_++ % identities_.size()];
    const auto index = static_cast<int>(stats_.started++);
    auto* c = new Connection(*this, id, index);
    live_.push_back(c);
    ++open_;
    sockaddr_in to{};
    uv_ip4_addr(options_.host.c_str(), options_.port, &to);
    c->start(to, index);
}

void Runner::on_connection_up(Connection* c) {
    ++up_;
    ++stats_.completed;
    stats_.handshake_ms.push_back(ms_between(c->started, c->handshake_done));
    stats_.connection_ms.push_back(ms_between(c->started, Clock::now()));
    if (options_.mode == Mode::sip && !measuring_ && up_ == options_.concurrency) {
        measuring_ = true;
        measure_start_ = Clock::now();
    }
    while (may_start()) start_connection();  // idle: the next connections may open now
}

void Runner::on_connection_done(Connection* c, const std::string& failure, bool was_up) {
    live_.erase(std::find(live_.begin(), live_.end(), c));
    --open_;
    if (was_up) --up_;
    if (!failure.empty()) {
        ++stats_.failures[failure];
    } else if (options_.mode == Mode::handshake) {
        ++stats_.completed;
        stats_.handshake_ms.push_back(ms_between(c->started, c->handshake_done));
        const auto now = Clock::now();
        stats_.connection_ms.push_back(ms_between(c->started, now));
        // On the wall clock, to line up with the server's log timestamps (--trace).
        const auto started = std::chrono::system_clock::now() - (now - c->started);
        stats_.started_unix_s.push_back(std::chrono::duration<double>(started.time_since_epoch()).count());
    }
    while (may_start()) start_connection();
}

void Runner::on_tick() {
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    // Copy: finish() edits live_.
    for (Connection* c : std::vector<Connection*>(live_)) {
        if ((c->state != Connection::State::up || c->sip_waiting) && now > c->deadline)
            c->finish(c->sip_waiting ? std::string{"timeout waiting for a SIP response"}
                                     : std::string{"timeout while "} + c->state_name());
    }
    switch (options_.mode) {
        case Mode::handshake:
            if (elapsed >= options_.duration_s || (options_.count != 0 && stats_.started >= options_.count))
                stopping_ = true;
            if (stopping_ && open_ == 0) stop();
            while (may_start()) start_connection();  // --rate: the starts it held back
            break;
        case Mode::bulk:
            if (elapsed >= options_.duration_s) stop();
            break;
        case Mode::sip:
            if (measuring_ && std::chrono::duration<double>(now - measure_start_).count() >= options_.duration_s)
                stop();
            if (!stopping_ && !measuring_ && elapsed >= options_.open_timeout_s) {
                ++stats_.failures["not all connections up within --open-timeout"];
                stop();
            }
            if (!stopping_ && open_ == 0 && !may_start()) stop();  // every connection failed
            break;
        case Mode::idle:
            if (!all_up_reported_ && stats_.started >= options_.count && open_ == up_) {
                all_up_reported_ = true;
                stats_.all_up_s = elapsed;
                if (on_all_up_ != nullptr) on_all_up_(on_all_up_arg_, elapsed);
            }
            if (all_up_reported_ && elapsed >= stats_.all_up_s + options_.duration_s) stop();
            if (!all_up_reported_ && elapsed >= options_.open_timeout_s) {
                ++stats_.failures["not all connections up within --open-timeout"];
                stop();
            }
            break;
    }
}

void Runner::stop() {
    stats_.measured_s = std::chrono::duration<double>(Clock::now() - (measuring_ ? measure_start_ : start_)).count();
    stats_.held = up_;
    stopping_ = true;
    for (Connection* c : std::vector<Connection*>(live_)) c->finish({});
    uv_timer_stop(&tick_);
}

double Runner::elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

RunStats Runner::run(void (*on_all_up)(void*, double), void* arg) {
    on_all_up_ = on_all_up;
    on_all_up_arg_ = arg;
    start_ = Clock::now();
    uv_timer_start(&tick_, [](uv_timer_t* t) noexcept { static_cast<Runner*>(t->data)->on_tick(); }, 50, 50);
    while (may_start()) start_connection();
    uv_run(&loop_, UV_RUN_DEFAULT);
    return std::move(stats_);
}

}  // namespace ocspgate::perf
