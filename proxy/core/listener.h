// A listening socket on one worker's loop, and the read-only settings its connections share.
#pragma once

#include <uv.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "conf/config.h"
#include "ocsp/checker.h"
#include "ocsp/latency_histogram.h"
#include "proxy/core/backend_failure.h"
#include "proxy/core/backend_addresses.h"
#include "tls/ossl.h"
#include "tls/staple.h"
#include "base/result.h"
#include "base/verdict.h"

namespace ocspgate::proxy {

class Worker;

// Connection counts for the admin endpoint: relaxed atomics, one add when a connection opens
// and one when it closes. Open now = opened - accepted - rejected - backend_failed.
struct ListenerCounters {
    std::atomic<std::uint64_t> opened{0};
    std::atomic<std::uint64_t> accepted{0};  // closed after the handshake succeeded
    std::atomic<std::uint64_t> rejected{0};  // closed without a successful handshake, or refused
    std::array<std::atomic<std::uint64_t>, kRefusalReasons> rejected_by_reason{};  // index: RefusalReason
    std::atomic<std::uint64_t> cut_in_session{0};  // accepted, then closed by re-validation or expiry
    // Accepted client, but the backend failed it (BackendFailure, backend_failure.h); these
    // are not in `accepted`. Open now also subtracts them.
    std::array<std::atomic<std::uint64_t>, kBackendFailureCount> backend_failed{};
    std::atomic<std::uint64_t> bytes_from_client{0};   // plaintext forwarded to the backend, at close
    std::atomic<std::uint64_t> bytes_from_backend{0};  // plaintext forwarded to the client, at close
    ocsp::LatencyHistogram handshake_latency;          // accept to handshake done, revocation included
};

// Built with the Runtime (proxy/core/runtime.h) and shared read-only by every worker and by the
// connections accepted with it (SSL_CTX is safe to share).
struct ListenerSettings {
    explicit ListenerSettings(std::shared_ptr<ListenerCounters> shared_counters)
        : counters_owner(std::move(shared_counters)), counters(*counters_owner) {}

    conf::Listener conf;
    tls::SslCtxPtr ssl_ctx;
    std::shared_ptr<ocsp::Checker> checker;  // null: no revocation profile on this listener
    conf::Duration recheck_interval{0};      // the profile's "Check Every"; 0 = handshake only
    tls::SslCtxPtr backend_ctx;        // client side toward the backend; null without backend_tls
    std::string backend_server_name;   // checked in the backend's certificate (backend_tls)
    std::shared_ptr<ocsp::Checker> backend_checker;  // backend_revocation; null: not checked
    // The backend's addresses, resolved when it is a host name; shared by every worker.
    std::shared_ptr<BackendAddresses> backend_addresses;
    // OCSP stapling of the listener's certificate ([listener.tls] stapling); null: off. The
    // certificate and its issuer are read with the Runtime (off the loops) for the stapler
    // on the main loop (proxy/staple/), which fills the slot ssl_ctx staples from.
    std::shared_ptr<tls::StapleSlot> staple;
    tls::X509Ptr staple_certificate, staple_issuer;
    // The only mutable part, written by every worker. Shared with the listener of the same
    // name in the Runtimes before and after a reload, so the counts never go back.
    std::shared_ptr<ListenerCounters> counters_owner;
    ListenerCounters& counters;
};

// Makes the listening socket for `listener` (SO_REUSEPORT with `reuse_port`: each worker binds
// its own socket to the address and the kernel spreads new connections across them), bound and
// listening; connections wait in its backlog until the worker's loop accepts them. Called on
// the main thread, so a busy port is reported before anything changes. Whether another process
// already listens there is checked before (check_address_unowned, address_owner.h).
Result<int> bind_listener_socket(const conf::Listener& listener, bool reuse_port);

class Listener {
public:
    // Listens on `fd` (from bind_listener_socket; owned from now on, closed on failure) on
    // `worker`'s loop. Called on the worker's thread, or before its loop runs.
    static Result<std::unique_ptr<Listener>> open(Worker& worker, std::shared_ptr<const ListenerSettings> settings,
                                                  int fd);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    // Stops accepting. The object frees itself once libuv has closed the handle.
    static void close(std::unique_ptr<Listener> listener);

    // Reload: connections accepted from now on use `settings`; the socket stays open.
    void set_settings(std::shared_ptr<const ListenerSettings> settings) { settings_ = std::move(settings); }
    const ListenerSettings& settings() const { return *settings_; }

private:
    Listener(Worker& worker, std::shared_ptr<const ListenerSettings> settings);
    static void on_connection(uv_stream_t* server, int status) noexcept;

    Worker& worker_;
    std::shared_ptr<const ListenerSettings> settings_;
    uv_tcp_t handle_{};
};

}  // namespace ocspgate::proxy
