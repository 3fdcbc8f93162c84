// One client connection: TLS termination, the revocation wait, the backend connection and
// forwarding in both directions.
//
// Life of a connection (state in brackets):
//   accept -> ([plaintext]: LDAP StartTLS only) -> [handshaking] -> (verify callback pauses) [awaiting_revocation] -> [handshaking]
//   -> [connecting_backend] (with backend_tls: TCP connect, then the backend TLS handshake)
//   -> [forwarding] -> half-closes pass through -> [closing] -> freed.
// A backend that refuses or times out before it connected, with a front that answers for it
// (SIP 503, LDAP unavailable): [connecting_backend] -> [answering_for_backend] -> [closing].
// [plaintext] is the front's phase before StartTLS: it answers the client itself and nothing
// reaches the backend. With backend_tls a second tls::Engine in the client role sits between
// the plaintext and the backend socket (the "backend TLS" functions); the client's bytes wait
// inside it until the backend handshake is done (including the backend_revocation check,
// which suspends it like the client's), and a refused backend certificate ends the connection
// with "backend certificate rejected: <reason>" and a close_notify to the client.
// Any failure goes to [closing]: pending ciphertext (an alert, a close_notify) is flushed to the
// client first, then every handle is closed, and the object is freed from the last close
// callback (never earlier: libuv may still call back). One deadline timer serves the current
// phase: handshake_timeout, then connect_timeout, then, while forwarding, the earliest of
// idle_timeout, the next re-validation and the client chain's expiry (connection_session.cpp).
//
// Backpressure: a side's reads stop while the other side's unsent bytes exceed
// kMaxPendingWriteBytes and resume below half of it, so memory per connection stays bounded
// whatever the peers do. Writes go to the socket at once when it takes them (uv_try_write);
// only what it did not take is queued and counted as unsent, so a peer that keeps up never
// stops the other side's reads (each stop and restart costs epoll_ctl calls).
#pragma once

#include <uv.h>

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ocsp/checker.h"
#include "proxy/core/backend_dial.h"
#include "proxy/front/front.h"
#include "proxy/core/await_slot.h"
#include "proxy/core/backend_failure.h"
#include "proxy/core/listener.h"
#include "tls/engine.h"

namespace ocspgate::proxy {

class Worker;

// answering_for_backend: the backend failed before it connected and the front answers the
// client on its behalf (SIP 503, LDAP unavailable; connection_unavailable.cpp).
enum class ConnState { plaintext, handshaking, awaiting_revocation, connecting_backend, forwarding, answering_for_backend, closing };

class Connection final : private tls::RevocationGate {
public:
    static constexpr std::size_t kMaxPendingWriteBytes = 64 * 1024;

    // `settings` stay this connection's for its whole life, even when a reload replaces them
    // for new connections.
    Connection(Worker& worker, std::shared_ptr<const ListenerSettings> settings, std::uint64_t id);
    ~Connection() override;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Accepts from `server` and starts the handshake; on failure the connection closes itself.
    void start(uv_stream_t* server);
    // Ends the connection now (drain deadline, max_connections refusal, ...).
    void abort(std::string reason);

    std::list<std::unique_ptr<Connection>>::iterator position;  // in Worker::connections_

private:
    struct WriteRequest;
    enum class Side { client, backend };

    // backend_revocation: decides on the backend's verified chain, like decide_now() below
    // does for the client's.
    class BackendRevocationGate final : public tls::RevocationGate {
    public:
        explicit BackendRevocationGate(Connection& connection) : connection_(connection) {}
        std::optional<ChainVerdict> decide_now(STACK_OF(X509) * chain) override;

    private:
        Connection& connection_;
    };

    // tls::RevocationGate: answered from the revocation cache, inside the verify callback.
    std::optional<ChainVerdict> decide_now(STACK_OF(X509) * chain) override;

    // Client side.
    static void on_client_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
    void handle_client_bytes(const std::uint8_t* data, std::size_t len);
    void handle_client_eof();
    void handle_plaintext(const std::uint8_t* data, std::size_t len);
    void run_tls();
    void forward_client_plaintext(std::vector<std::uint8_t> plaintext);
    void apply_front_output(FrontOutput& out);
    PeerIdentity peer_identity() const;
    bool prepare_proxy_header();  // false: the client was refused
    void on_handshake_done();
    void start_revocation_check();
    ocsp::Deadline revocation_deadline() const;
    void on_revocation_decided(ocsp::Decision decision);
    void flush_to_client();

    // Backend side.
    void connect_backend();
    void on_backend_connected(Result<uv_os_sock_t> socket);
    static void on_backend_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
    void deliver_backend_plaintext(std::span<const std::uint8_t> data);
    void handle_backend_eof();
    void send_to_backend(std::vector<std::uint8_t> data);
    void write_to_backend(std::vector<std::uint8_t> plaintext);

    // Backend TLS (backend_tls = true).
    bool start_backend_tls();
    void run_backend_tls(std::span<const std::uint8_t> ciphertext);
    void on_backend_handshake_done();
    void flush_to_backend();
    void start_backend_revocation_check();
    void on_backend_revocation_decided(ocsp::Decision decision);

    // Shared plumbing.
    static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf) noexcept;
    void write(Side side, std::vector<std::uint8_t> data);
    static void on_write_done(uv_write_t* req, int status) noexcept;
    void apply_backpressure();
    void shutdown_side(Side side);
    static void on_shutdown_done(uv_shutdown_t* req, int status) noexcept;
    void maybe_finish_forwarding();
    void arm_timer(std::uint64_t timeout_ms);
    static void on_timer(uv_timer_t* timer) noexcept;
    void note_activity();

    // Session checks while forwarding (connection_session.cpp): re-validation ("Check Every")
    // and close_on_expiry.
    void schedule_session_checks();
    void arm_forwarding_timer();
    void on_forwarding_timer();
    void start_recheck();
    void on_recheck_decided(ocsp::Decision decision);
    void end_session(const char* cause, std::string reason);

    // Lingering close after a refusal (linger.cpp).
    bool try_start_lingering();  // true: lingering (or closing) now
    static void on_linger_shutdown(uv_shutdown_t* req, int status) noexcept;
    static void on_linger_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
    void stop_lingering();

    // Closing.
    void fail(std::string reason, bool flush_client = true);
    void fail_backend(BackendFailure failure, std::string reason);
    bool answer_for_backend();  // connection_unavailable.cpp; false: the front does not
    void close_handles();
    static void on_handle_closed(uv_handle_t* handle) noexcept;
    void log_accept() const;
    void log_proxy_header_left_out(const std::vector<std::string_view>& left_out) const;
    void log_outcome() const;
    // `profile`: the [revocation.NAME] that decided (the client's, or backend_revocation).
    void log_config_problems(const ocsp::Decision& decision, const std::optional<std::string>& profile) const;
    // The decision both the close line and the listener's counters report.
    bool accepted() const;
    // Why a connection that was not accepted() was refused (connection_log.cpp).
    RefusalReason refusal_reason() const;
    bool backend_failed() const;  // accepted, then failed by the backend (not cut)
    void count_outcome() const;

    Worker& worker_;
    std::shared_ptr<const ListenerSettings> settings_;
    std::uint64_t id_;
    ConnState state_ = ConnState::handshaking;

    uv_tcp_t client_{};
    uv_tcp_t backend_{};
    uv_timer_t timer_{};
    std::unique_ptr<BackendDial> backend_dial_;  // until the backend socket is connected
    uv_shutdown_t client_shutdown_req_{};
    uv_shutdown_t backend_shutdown_req_{};
    int open_handles_ = 0;

    std::unique_ptr<tls::Engine> tls_;
    BackendRevocationGate backend_gate_{*this};  // outlives backend_tls_, which may call it
    std::unique_ptr<tls::Engine> backend_tls_;  // client role toward the backend; null without backend_tls
    std::unique_ptr<Front> front_;  // null for protocol "tcp"
    std::unique_ptr<ocsp::CheckHandle> revocation_check_;
    AwaitSlot await_slot_;  // held while the handshake waits for revocation_check_
    std::optional<ocsp::Decision> revocation_;
    // backend_revocation: set while the backend handshake waits for it (then no cycle() runs).
    std::unique_ptr<ocsp::CheckHandle> backend_revocation_check_;
    std::optional<ocsp::Decision> backend_revocation_;

    bool backend_initialized_ = false;
    bool backend_connected_ = false;
    bool client_reading_ = false;
    bool backend_reading_ = false;
    bool client_eof_ = false;        // no more plaintext will come from the client
    bool backend_eof_ = false;       // no more bytes will come from the backend
    bool client_shut_ = false;       // our write side toward the client is shut down
    bool backend_shut_ = false;      // our write side toward the backend is shut down
    // Bytes queued with uv_write (what the socket did not take at once) whose write callback has
    // not run yet: toward the client ciphertext, toward the backend bytes as sent (ciphertext
    // with backend_tls).
    std::size_t client_pending_bytes_ = 0;
    std::size_t backend_pending_bytes_ = 0;
    std::vector<std::uint8_t> early_plaintext_;  // from the client before the backend connected
    // proxy_protocol: built when the handshake is done, sent first once the backend connects.
    std::vector<std::uint8_t> proxy_header_;

    std::string peer_;
    std::string close_reason_;
    bool rejected_ = false;          // the peer was refused (certificate, revocation, limits)
    // Set where the refusal is not a TLS failure (which refusal_reason() reads from tls_).
    std::optional<RefusalReason> refusal_;
    bool cut_ = false;               // accepted, then ended by a session check (end_session)
    std::optional<BackendFailure> backend_failure_;  // accepted, but the backend failed it
    // The refusal being sent is a fatal alert (or a front's answer) the client should be able
    // to read: fail() lingers (linger.cpp) instead of closing at once.
    bool linger_after_refusal_ = false;
    bool lingering_ = false;         // [closing] sub-phase: reading and dropping until FIN or bounds
    std::size_t linger_bytes_left_ = 0;
    std::uint64_t started_ms_ = 0;
    std::uint64_t last_activity_ms_ = 0;
    std::uint64_t idle_timeout_ms_ = 0;
    std::uint64_t handshake_ms_ = 0;
    std::uint64_t recheck_at_ms_ = 0;   // loop time of the next re-validation; 0 = none due
    std::uint64_t expires_at_ms_ = 0;   // loop time the client chain expires (close_on_expiry); 0 = never
    std::uint64_t bytes_from_client_ = 0;
    std::uint64_t bytes_from_backend_ = 0;
};

}  // namespace ocspgate::proxy
