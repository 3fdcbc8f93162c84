// A listening socket on one worker's loop, and the read-only settings its connections share.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "conf/config.h"
#include "ocsp/checker.h"
#include "tls/ossl.h"
#include "tls/result.h"

namespace ocspgate::proxy {

class Worker;

// Connection counts for the admin endpoint: relaxed atomics, one add when a connection opens
// and one when it closes. Open now = opened - accepted - rejected.
struct ListenerCounters {
    std::atomic<std::uint64_t> opened{0};
    std::atomic<std::uint64_t> accepted{0};  // closed after the handshake succeeded
    std::atomic<std::uint64_t> rejected{0};  // closed without a successful handshake, or refused
};

// Built once at start-up and shared read-only by every worker (SSL_CTX is safe to share).
struct ListenerSettings {
    conf::Listener conf;
    tls::SslCtxPtr ssl_ctx;
    ocsp::Checker* checker = nullptr;  // null: no revocation profile on this listener
    tls::SslCtxPtr backend_ctx;        // client side toward the backend; null without backend_tls
    std::string backend_server_name;   // checked in the backend's certificate (backend_tls)
    ocsp::Checker* backend_checker = nullptr;  // backend_revocation; null: not checked
    mutable ListenerCounters counters;  // the only mutable part; written by every worker
};

class Listener {
public:
    // Binds and listens on `worker`'s loop. With `reuse_port`, each worker binds its own socket
    // to the same address (SO_REUSEPORT) and the kernel spreads new connections across them.
    static Result<std::unique_ptr<Listener>> create(Worker& worker, const ListenerSettings& settings,
                                                    bool reuse_port);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    // Stops accepting. The object frees itself once libuv has closed the handle.
    static void close(std::unique_ptr<Listener> listener);

    const ListenerSettings& settings() const { return settings_; }

private:
    Listener(Worker& worker, const ListenerSettings& settings);
    static void on_connection(uv_stream_t* server, int status) noexcept;

    Worker& worker_;
    const ListenerSettings& settings_;
    uv_tcp_t handle_{};
};

}  // namespace ocspgate::proxy
