// One event loop on its own thread: its listeners (one socket each, SO_REUSEPORT) and the
// connections they accepted. Workers share nothing on the per-connection path but the
// read-only ListenerSettings and one atomic connection count.
#pragma once

#include <uv.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <thread>
#include <vector>

#include "conf/config.h"
#include "ocsp/mailbox.h"
#include "proxy/listener.h"

namespace ocspgate::proxy {

class Connection;

// Process-wide state the workers share.
struct Shared {
    conf::Server server;
    std::vector<std::unique_ptr<ListenerSettings>> listeners;
    std::atomic<std::uint32_t> active_connections{0};
};

class Worker {
public:
    Worker(unsigned id, Shared& shared);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Called on the main thread before start(): binds every listener on this worker's loop.
    Result<Ok> bind_listeners(bool reuse_port);
    void start();
    // Thread-safe: stop accepting, let open connections finish until the drain deadline.
    void request_drain();
    // Thread-safe: stop accepting and close every connection now (a second SIGTERM).
    void request_stop_now();
    // Called on the worker's thread once its loop has ended.
    void set_on_finished(std::function<void()> callback) { on_finished_ = std::move(callback); }
    void join();

    uv_loop_t* loop() { return &loop_; }
    // Where revocation results for this loop's connections arrive.
    ocsp::Mailbox& mailbox() { return *mailbox_; }
    unsigned id() const { return id_; }
    const conf::Server& server_settings() const { return shared_.server; }

    // Listener callback: accept one connection (or refuse it over max_connections).
    void accept(uv_stream_t* server, const ListenerSettings& settings);
    // Connection callback, from its last close callback: forget and free it.
    void release(Connection* connection);

    // Read buffer shared by every connection on this loop: libuv reads into it and the data
    // is consumed before the next read, so idle connections hold no read buffer of their own.
    uv_buf_t read_buffer();

private:
    void run() noexcept;
    static void on_drain_request(uv_async_t* handle) noexcept;
    static void on_drain_deadline(uv_timer_t* handle) noexcept;
    void begin_drain();
    void finish_if_drained();

    static constexpr std::size_t kReadBufferSize = 64 * 1024;

    unsigned id_;
    Shared& shared_;
    uv_loop_t loop_{};
    uv_async_t drain_request_{};
    uv_timer_t drain_timer_{};
    std::unique_ptr<ocsp::Mailbox> mailbox_;
    bool draining_ = false;
    std::atomic<bool> stop_now_{false};
    std::function<void()> on_finished_;
    bool finished_ = false;
    std::vector<std::unique_ptr<Listener>> listeners_;
    std::list<std::unique_ptr<Connection>> connections_;
    std::uint64_t next_connection_id_ = 1;
    std::unique_ptr<std::array<char, kReadBufferSize>> read_buffer_;
    std::thread thread_;
};

}  // namespace ocspgate::proxy
