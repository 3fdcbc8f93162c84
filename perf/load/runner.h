// The load generator's event loop: keeps `concurrency` client connections going on one libuv
// loop until the run's count or time bound is reached, and records what each one did.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "perf/load/client_tls.h"
#include "perf/load/sip_mode.h"

namespace ocspgate::perf {

enum class Mode { handshake, bulk, idle, sip };

struct RunOptions {
    Mode mode = Mode::handshake;
    std::string host = "127.0.0.1";
    int port = 0;
    int concurrency = 16;
    std::uint64_t count = 0;          // handshake: stop after this many connections (0: time only)
    double rate = 0;                  // handshake: at most this many starts per second (0: no bound)
    double duration_s = 10;           // every mode: hard bound on the measured phase
    double connection_timeout_s = 10; // one connection's handshake + exchange
    double open_timeout_s = 120;      // idle: bound on opening all connections
    std::size_t message_bytes = 16;   // handshake/idle: echo round trip after the handshake (0: none)
    std::size_t bulk_chunk_bytes = 16384;
    int source_addresses = 1;         // idle: spread over 127.1.x.y (1: the kernel picks)
    SipMethod sip_method = SipMethod::mixed;
    bool plain = false;               // sip: plain TCP, no TLS (to measure the backend directly)
};

using Clock = std::chrono::steady_clock;

struct RunStats {
    std::uint64_t started = 0;
    std::uint64_t completed = 0;                  // handshake (+ echo) succeeded
    std::map<std::string, std::uint64_t> failures;  // reason -> count
    std::vector<double> handshake_ms;             // connect start -> handshake done, successes
    std::vector<double> connection_ms;            // connect start -> echo received, successes
    std::vector<double> started_unix_s;           // handshake: each success's connect start (wall clock)
    double measured_s = 0;                        // wall time of the measured phase
    std::uint64_t bytes_sent = 0;                 // bulk: plaintext written
    std::uint64_t bytes_received = 0;             // bulk: plaintext read
    double all_up_s = -1;                         // idle: time until every connection was up
    int held = 0;                                 // idle: connections up at the end of the hold
    std::uint64_t transactions = 0;               // sip: 2xx answers received while measuring
    std::vector<double> transaction_ms;           // sip: request written -> final response read
};

class Runner {
public:
    Runner(RunOptions options, std::vector<ClientIdentity>& identities);
    ~Runner();
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;

    // Runs to completion. `on_all_up` is called once in idle mode when every connection is up.
    RunStats run(void (*on_all_up)(void* arg, double seconds), void* arg);

    // Used by Connection (runner.cpp).
    struct Connection;
    void on_connection_done(Connection* c, const std::string& failure, bool was_up);
    void on_connection_up(Connection* c);
    uv_loop_t* loop() { return &loop_; }
    const RunOptions& options() const { return options_; }
    RunStats& stats() { return stats_; }
    char* read_buffer() { return read_buffer_.data(); }
    std::size_t read_buffer_size() const { return read_buffer_.size(); }
    bool stopping() const { return stopping_; }
    // sip: transactions count only once every connection is up (the handshakes are not part
    // of the measured phase).
    bool measuring() const { return measuring_; }

private:
    bool may_start() const;
    double elapsed() const;  // seconds since run() started
    void start_connection();
    void on_tick();
    void stop();

    RunOptions options_;
    std::vector<ClientIdentity>& identities_;
    std::size_t next_identity_ = 0;
    uv_loop_t loop_{};
    uv_timer_t tick_{};  // 50 ms: deadlines, end of run
    RunStats stats_;
    Clock::time_point start_;
    bool stopping_ = false;
    int open_ = 0;
    int up_ = 0;
    bool all_up_reported_ = false;
    bool measuring_ = false;
    Clock::time_point measure_start_;
    std::vector<Connection*> live_;
    std::vector<char> read_buffer_ = std::vector<char>(64 * 1024);
    void (*on_all_up_)(void*, double) = nullptr;
    void* on_all_up_arg_ = nullptr;
};

}  // namespace ocspgate::perf
