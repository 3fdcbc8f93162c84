// One event loop on its own thread: its listeners (one socket each, SO_REUSEPORT) and the
// connections they accepted. Workers share nothing on the per-connection path but the
// read-only Runtime (settings, contexts, checkers) and one atomic connection count.
//
// Reload: the main thread builds a new Runtime and binds the sockets of new listeners, then
// hands both to every worker (update()). On its own thread the worker keeps the sockets whose
// address stays, closes the ones that went away, opens the new ones, and uses the new Runtime
// for connections accepted from then on; established connections are not touched.
#pragma once

#include <uv.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "conf/config.h"
#include "ocsp/mailbox.h"
#include "proxy/core/listener.h"
#include "proxy/core/runtime.h"

namespace ocspgate::proxy {

class Connection;
namespace expiry {
class PeerCertificates;
}  // namespace expiry

// Process-wide state the workers share.
struct Shared {
    std::atomic<std::uint32_t> active_connections{0};
    // Handshakes paused for a revocation lookup now (server.max_awaiting_revocation), and
    // those refused because that many were already waiting.
    std::atomic<std::uint32_t> awaiting_revocation{0};
    std::atomic<std::uint64_t> awaiting_revocation_refused{0};
    // The next connection's id (log field `conn`): one counter for every worker, so an id
    // names one connection of this process whichever worker accepted it.
    std::atomic<std::uint64_t> next_connection_id{1};
    // The expiry monitor's registry of client certificates (thread-safe); set before the
    // workers start, null without [expiry] include_peer_certificates. Survives reloads.
    expiry::PeerCertificates* peer_certificates = nullptr;
    // Lingering closes after a refusal (proxy/core/linger.cpp): connections lingering now
    // (capped by [server] max_lingering), lingering closes started, refusals closed at once
    // because the cap was reached.
    std::atomic<std::uint32_t> lingering{0};
    std::atomic<std::uint64_t> lingering_closes{0};
    std::atomic<std::uint64_t> linger_skipped{0};
};

// Bound listening sockets for one worker, by listener_key(); the worker owns them once handed over.
// Usually one per listener; more when a binary upgrade handed over more sockets per address
// than this process has workers (each is kept: closing one would drop the connections queued
// in its backlog).
using ListenerSockets = std::multimap<std::string, int>;

// A new configuration for a running worker.
struct RuntimeUpdate {
    std::shared_ptr<const Runtime> runtime;
    ListenerSockets new_sockets;  // for listeners whose address is new in `runtime`
    std::function<void()> applied;  // called on the worker's thread once it is in force
};

class Worker {
public:
    Worker(unsigned id, Shared& shared, std::shared_ptr<const Runtime> runtime);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Called on the main thread before start(): listens on `sockets`, one per listener.
    Result<Ok> open_listeners(ListenerSockets sockets);
    void start();
    // Thread-safe: switch to a new Runtime on the worker's thread (see above).
    void update(RuntimeUpdate update);
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
    // The [server] settings of the current Runtime (worker thread only).
    const conf::Server& server_settings() const { return runtime_->config.server; }
    expiry::PeerCertificates* peer_certificates() const { return shared_.peer_certificates; }
    Shared& shared() { return shared_; }

    // Listener callback: accept one connection (or refuse it over max_connections).
    void accept(uv_stream_t* server, std::shared_ptr<const ListenerSettings> settings);
    // Connection callback, from its last close callback: forget and free it.
    void release(Connection* connection);

    // Read buffer shared by every connection on this loop: libuv reads into it and the data
    // is consumed before the next read, so idle connections hold no read buffer of their own.
    uv_buf_t read_buffer();

private:
    void run() noexcept;
    static void on_drain_request(uv_async_t* handle) noexcept;
    static void on_update(uv_async_t* handle) noexcept;
    void apply(RuntimeUpdate update);
    void apply_listeners(RuntimeUpdate& update);
    static void on_drain_deadline(uv_timer_t* handle) noexcept;
    void begin_drain();
    void finish_if_drained();

    static constexpr std::size_t kReadBufferSize = 64 * 1024;

    unsigned id_;
    Shared& shared_;
    uv_loop_t loop_{};
    std::shared_ptr<const Runtime> runtime_;  // touched on the worker's thread only (after start)
    uv_async_t drain_request_{};
    uv_async_t update_request_{};
    std::mutex updates_mutex_;
    std::vector<RuntimeUpdate> updates_;  // guarded by updates_mutex_; applied in order
    uv_timer_t drain_timer_{};
    std::unique_ptr<ocsp::Mailbox> mailbox_;
    bool draining_ = false;
    std::atomic<bool> stop_now_{false};
    std::function<void()> on_finished_;
    bool finished_ = false;
    std::vector<std::unique_ptr<Listener>> listeners_;
    std::list<std::unique_ptr<Connection>> connections_;
    std::unique_ptr<std::array<char, kReadBufferSize>> read_buffer_;
    std::thread thread_;
};

}  // namespace ocspgate::proxy
