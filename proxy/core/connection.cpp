#include "proxy/core/connection.h"

#include <unistd.h>

#include <utility>

#include <fmt/format.h>

#include "proxy/core/front_factory.h"
#include "proxy/core/proxy_protocol.h"
#include "proxy/core/socket_address.h"
#include "proxy/core/worker.h"
#include "proxy/expiry/peer_certificates.h"
#include "proxy/log/log.h"
#include "tls/certificate.h"

namespace ocspgate::proxy {
namespace {

// How long a closing connection may take to hand its last alert / close_notify to the kernel.
constexpr std::uint64_t kFlushTimeoutMs = 2000;

uv_stream_t* as_stream(uv_tcp_t& tcp) { return reinterpret_cast<uv_stream_t*>(&tcp); }
uv_handle_t* as_handle(uv_tcp_t& tcp) { return reinterpret_cast<uv_handle_t*>(&tcp); }

}  // namespace

// The part of a write the socket did not take at once; `data` also holds the bytes before
// `queued` that were already sent (not copied out: this is the rare path).
struct Connection::WriteRequest {
    uv_write_t req{};
    std::vector<std::uint8_t> data;
    std::size_t queued = 0;  // bytes handed to uv_write: the tail of `data`
    Connection* connection = nullptr;
    Side side = Side::client;
};

Connection::Connection(Worker& worker, std::shared_ptr<const ListenerSettings> settings, std::uint64_t id)
    : worker_(worker), settings_(std::move(settings)), id_(id) {
    client_.data = this;
    backend_.data = this;
    timer_.data = this;
    client_shutdown_req_.data = this;
    backend_shutdown_req_.data = this;
}

Connection::~Connection() = default;

// ---- start and client side -------------------------------------------------------------

void Connection::start(uv_stream_t* server) {
    uv_loop_t* loop = worker_.loop();
    uv_tcp_init(loop, &client_);
    uv_timer_init(loop, &timer_);
    open_handles_ = 2;
    started_ms_ = last_activity_ms_ = uv_now(loop);
    idle_timeout_ms_ = static_cast<std::uint64_t>(worker_.server_settings().idle_timeout.count());
    if (int rc = uv_accept(server, as_stream(client_)); rc != 0) return fail(std::string("accept failed: ") + uv_err_name(rc), false);
    peer_ = peer_address(client_);
    uv_tcp_nodelay(&client_, 1);
    auto engine = tls::Engine::create(settings_->ssl_ctx.get(), settings_->checker ? this : nullptr);
    if (!engine) return fail(engine.error().message, false);
    tls_ = std::move(engine).value();
    front_ = make_front(settings_->conf);
    if (front_ && front_->starts_in_plaintext()) state_ = ConnState::plaintext;
    arm_timer(static_cast<std::uint64_t>(worker_.server_settings().handshake_timeout.count()));
    uv_read_start(as_stream(client_), on_alloc, on_client_read);
    client_reading_ = true;
}

void Connection::abort(std::string reason) {
    refusal_ = RefusalReason::limit;  // max_connections or a drain; counted only if not yet accepted
    if (lingering_) return close_handles();  // a lingering close is only a courtesy
    fail(std::move(reason));
}

void Connection::on_alloc(uv_handle_t* handle, std::size_t /*suggested*/, uv_buf_t* buf) noexcept {
    *buf = static_cast<Connection*>(handle->data)->worker_.read_buffer();
}

void Connection::on_client_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
    auto* self = static_cast<Connection*>(stream->data);
    if (nread > 0) {
        self->handle_client_bytes(reinterpret_cast<const std::uint8_t*>(buf->base), static_cast<std::size_t>(nread));
    } else if (nread == UV_EOF) {
        self->client_reading_ = false;  // libuv stops reading at EOF
        self->handle_client_eof();
    } else if (nread < 0) {
        self->fail(std::string("client read error: ") + uv_err_name(static_cast<int>(nread)), false);
    }
}

void Connection::handle_client_bytes(const std::uint8_t* data, std::size_t len) {
    note_activity();
    if (state_ == ConnState::plaintext) return handle_plaintext(data, len);
    tls_->enc_in({data, len});
    if (state_ == ConnState::awaiting_revocation) {
        apply_backpressure();  // keep reading (to see resets) but bound what piles up
        return;
    }
    run_tls();
}

void Connection::handle_client_eof() {
    if (state_ == ConnState::closing) return;
    if (!tls_ || !tls_->handshake_complete()) {
        refusal_ = RefusalReason::client_closed;
        return fail("client closed during handshake", false);
    }
    if (state_ == ConnState::answering_for_backend) return fail(close_reason_);
    if (client_eof_) return;
    client_eof_ = true;
    if (close_reason_.empty()) close_reason_ = "client closed";
    if (backend_connected_) shutdown_side(Side::backend);
    maybe_finish_forwarding();
}

// Before TLS (LDAP StartTLS): the front answers in plaintext until it says TLS begins.
void Connection::handle_plaintext(const std::uint8_t* data, std::size_t len) {
    FrontOutput out;
    std::size_t consumed = front_->on_plaintext({data, len}, out);
    if (!out.to_client.empty()) write(Side::client, std::move(out.to_client));
    if (out.close_reason) {
        rejected_ = true;
        refusal_ = RefusalReason::protocol;
        linger_after_refusal_ = true;  // the front's answer says why
        return fail(*out.close_reason);
    }
    // The front's answers are the only output here; a client that sends requests without
    // reading the answers must not make them pile up.
    if (client_pending_bytes_ > kMaxPendingWriteBytes) {
        rejected_ = true;
        refusal_ = RefusalReason::protocol;
        return fail("client does not read the answers before TLS");
    }
    if (!out.start_tls) return;
    state_ = ConnState::handshaking;
    if (consumed < len) {
        tls_->enc_in({data + consumed, len - consumed});
        run_tls();
    }
}

void Connection::run_tls() {
    tls::CycleEvents events = tls_->cycle();
    flush_to_client();
    if (events.failure) {
        rejected_ = !tls_->handshake_complete();
        linger_after_refusal_ = rejected_;  // the handshake's fatal alert is queued
        // For `ocspgate status`: a refused expired certificate is listed beside the accepted ones.
        if (expiry::PeerCertificates* peers = worker_.peer_certificates(); peers && rejected_ && tls_->only_leaf_expired())
            peers->note(tls_->peer_certificate(), *events.failure);
        return fail(*events.failure);
    }
    if (events.verification_paused) return start_revocation_check();
    if (events.handshake_done) on_handshake_done();
    if (state_ == ConnState::closing) return;  // refused after the handshake (PROXY header)
    std::vector<std::uint8_t> plaintext;
    if (tls_->take_clear_out(plaintext) > 0) forward_client_plaintext(std::move(plaintext));
    if (events.peer_closed && state_ != ConnState::closing) handle_client_eof();
}

void Connection::forward_client_plaintext(std::vector<std::uint8_t> plaintext) {
    if (!front_) return send_to_backend(std::move(plaintext));
    FrontOutput out;
    front_->on_client_data(plaintext, out);
    apply_front_output(out);
}

// Sends what a front produced: its own answers to the client, then bytes for the backend,
// then closes if it asked to (after the answers are flushed).
void Connection::apply_front_output(FrontOutput& out) {
    if (!out.to_client.empty()) {
        tls_->clear_in(out.to_client);
        flush_to_client();
    }
    if (!out.to_backend.empty()) send_to_backend(std::move(out.to_backend));
    if (out.close_reason) fail(*out.close_reason);
}

PeerIdentity Connection::peer_identity() const {
    PeerIdentity id;
    if (const X509* cert = tls_->peer_certificate(); cert != nullptr && tls_->handshake_complete()) {
        id.subject = tls::subject_of(cert);
        id.issuer = tls::issuer_of(cert);
        id.serial = tls::serial_hex_of(cert);
        id.fingerprint_sha256 = tls::sha256_fingerprint_of(cert);
    }
    if (revocation_) {
        id.revocation = revocation_->status;
        id.revocation_source = revocation_->source;
    }
    return id;
}

void Connection::flush_to_client() {
    if (client_shut_) return;
    std::vector<std::uint8_t> ciphertext;
    if (tls_ && tls_->take_enc_out(ciphertext) > 0) write(Side::client, std::move(ciphertext));
}

// ---- revocation ------------------------------------------------------------------------

std::optional<ChainVerdict> Connection::decide_now(STACK_OF(X509) * chain) {
    std::optional<ocsp::Decision> decision = settings_->checker->decide_cached(chain);
    if (decision) {
        revocation_ = std::move(decision);
        return revocation_->verdict;
    }
    // The handshake would pause for a lookup: only while fewer than max_awaiting_revocation
    // others wait, so that a hanging responder cannot hold every descriptor.
    Shared& shared = worker_.shared();
    const std::uint32_t limit = worker_.server_settings().max_awaiting_revocation;
    if (await_slot_.take(shared.awaiting_revocation, limit)) return std::nullopt;
    shared.awaiting_revocation_refused.fetch_add(1, std::memory_order_relaxed);
    ocsp::Decision refused;
    refused.verdict = ChainVerdict::undetermined;
    refused.status = cert_status::undetermined;
    refused.method = "none";
    refused.source = "-";
    refused.detail = fmt::format("not checked: {} handshakes already wait for a revocation lookup "
                                 "(server.max_awaiting_revocation)", limit);
    revocation_ = std::move(refused);
    return revocation_->verdict;
}

// The handshake timer runs from accept; the decision must come early enough to send its alert.
ocsp::Deadline Connection::revocation_deadline() const {
    using std::chrono::milliseconds;
    const milliseconds timeout = worker_.server_settings().handshake_timeout;
    const milliseconds elapsed{uv_now(worker_.loop()) - started_ms_};
    return ocsp::SteadyClock::now() + (timeout - elapsed) - ocsp::alert_reserve(timeout);
}

void Connection::start_revocation_check() {
    state_ = ConnState::awaiting_revocation;
    // The handle is owned here: closing the connection destroys it, which cancels the callback.
    revocation_check_ = settings_->checker->check(worker_.mailbox(), tls_->pending_chain(), revocation_deadline(),
                                                 [this](ocsp::Decision d) { on_revocation_decided(std::move(d)); });
}

void Connection::on_revocation_decided(ocsp::Decision decision) {
    if (state_ != ConnState::awaiting_revocation) return;
    await_slot_.release();
    revocation_ = std::move(decision);
    log_config_problems(*revocation_, settings_->conf.revocation);
    state_ = ConnState::handshaking;
    tls_->resume_verification(revocation_->verdict);
    run_tls();
    apply_backpressure();
}

void Connection::on_handshake_done() {
    handshake_ms_ = uv_now(worker_.loop()) - started_ms_;
    settings_->counters.handshake_latency.observe(std::chrono::milliseconds(handshake_ms_));
    state_ = ConnState::connecting_backend;
    // Built now rather than once the backend answers, so that a client the header cannot
    // describe is refused before any backend connection is made.
    if (settings_->conf.proxy_protocol && !prepare_proxy_header()) return;
    log_accept();
    // For the expiry monitor: once per connection, after the certificate was accepted.
    if (expiry::PeerCertificates* peers = worker_.peer_certificates()) peers->note(tls_->peer_certificate());
    if (front_) front_->on_handshake_done(peer_identity());
    connect_backend();
}

// ---- backend side ----------------------------------------------------------------------

void Connection::connect_backend() {
    uv_tcp_init(worker_.loop(), &backend_);
    backend_initialized_ = true;
    ++open_handles_;
    arm_timer(static_cast<std::uint64_t>(settings_->conf.connect_timeout.count()));
    // Resolution (host-name backends) and the staggered attempts live in backend_dial.cpp.
    backend_dial_ = BackendDial::start(worker_.mailbox(), settings_->backend_addresses,
                                       [this](Result<uv_os_sock_t> socket) { on_backend_connected(std::move(socket)); });
}

void Connection::on_backend_connected(Result<uv_os_sock_t> socket) {
    if (state_ == ConnState::closing || state_ == ConnState::answering_for_backend) {
        if (socket) ::close(*socket);
        return;
    }
    if (!socket) return fail_backend(BackendFailure::unreachable, "backend unreachable: " + socket.error().message);
    backend_dial_.reset();  // its last handles close; safe from inside its callback (backend_dial.h)
    if (int rc = uv_tcp_open(&backend_, *socket); rc != 0) {
        ::close(*socket);
        return fail_backend(BackendFailure::unreachable, std::string("backend unreachable: ") + uv_err_name(rc));
    }
    Connection* self = this;  // the lines below were written for a static callback
    self->backend_connected_ = true;
    uv_tcp_nodelay(&self->backend_, 1);
    if (self->settings_->conf.proxy_protocol) self->write(Side::backend, std::move(self->proxy_header_));  // before any TLS byte
    if (self->settings_->backend_ctx) {
        if (!self->start_backend_tls()) return;
    } else {
        self->state_ = ConnState::forwarding;
        self->schedule_session_checks();
    }
    if (!self->early_plaintext_.empty()) self->write_to_backend(std::exchange(self->early_plaintext_, {}));
    if (self->state_ == ConnState::closing) return;
    if (self->client_eof_) self->shutdown_side(Side::backend);
    uv_read_start(as_stream(self->backend_), on_alloc, on_backend_read);
    self->backend_reading_ = true;
    self->apply_backpressure();
}

void Connection::on_backend_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
    auto* self = static_cast<Connection*>(stream->data);
    if (nread > 0) {
        self->note_activity();
        std::span<const std::uint8_t> data{reinterpret_cast<const std::uint8_t*>(buf->base), static_cast<std::size_t>(nread)};
        if (self->backend_tls_) {
            self->run_backend_tls(data);
        } else {
            self->deliver_backend_plaintext(data);
        }
        if (self->state_ == ConnState::closing) return;
        self->apply_backpressure();
    } else if (nread == UV_EOF) {
        self->backend_reading_ = false;
        self->handle_backend_eof();
    } else if (nread < 0) {
        self->fail_backend(BackendFailure::closed, std::string("backend read error: ") + uv_err_name(static_cast<int>(nread)));
    }
}

// Backend plaintext on its way to the client, through the front if there is one.
void Connection::deliver_backend_plaintext(std::span<const std::uint8_t> data) {
    bytes_from_backend_ += data.size();
    if (front_) {
        FrontOutput out;
        front_->on_backend_data(data, out);
        apply_front_output(out);
    } else {
        tls_->clear_in(data);
        flush_to_client();
    }
}

void Connection::handle_backend_eof() {
    if (backend_eof_ || state_ == ConnState::closing) return;
    if (backend_tls_ && !backend_tls_->handshake_complete())
        return fail_backend(BackendFailure::tls, "backend TLS failed: backend closed during the handshake");
    backend_eof_ = true;
    // Closed before answering anything while the client still talks: the backend could not
    // serve this client (a dead process behind a port that still accepts, a full backend).
    if (bytes_from_backend_ == 0 && !client_eof_) {
        backend_failure_ = BackendFailure::closed;
        close_reason_ = "backend closed before sending anything";
    }
    if (close_reason_.empty()) close_reason_ = "backend closed";
    tls_->shutdown();  // close_notify after everything the backend sent
    flush_to_client();
    shutdown_side(Side::client);
    maybe_finish_forwarding();
}

void Connection::send_to_backend(std::vector<std::uint8_t> data) {
    bytes_from_client_ += data.size();
    if (backend_connected_) {
        write_to_backend(std::move(data));
    } else {
        early_plaintext_.insert(early_plaintext_.end(), data.begin(), data.end());
    }
    apply_backpressure();
}

// PROXY v2 (proxy_protocol.h). A CN that does not fit refuses the client: the header without
// it would tell the backend "verified certificate, no CN", another identity than the one
// verified. Other TLS facts that do not fit are left out and logged once.
bool Connection::prepare_proxy_header() {
    sockaddr_storage source{}, destination{};
    int source_len = sizeof source, destination_len = sizeof destination;
    uv_tcp_getpeername(&client_, reinterpret_cast<sockaddr*>(&source), &source_len);
    uv_tcp_getsockname(&client_, reinterpret_cast<sockaddr*>(&destination), &destination_len);
    ProxyTlsInfo info;
    info.version = tls_->version();
    info.cipher = tls_->cipher();
    if (const X509* cert = tls_->peer_certificate()) {
        info.client_cert_verified = true;
        info.common_name = tls::common_name_of(cert);
    }
    auto header = proxy_v2_header(reinterpret_cast<sockaddr*>(&source), reinterpret_cast<sockaddr*>(&destination), info);
    if (!header) {
        rejected_ = true;
        refusal_ = RefusalReason::proxy_header;
        fail(header.error().message);
        return false;
    }
    if (!header->left_out.empty()) log_proxy_header_left_out(header->left_out);
    proxy_header_ = std::move(header->bytes);
    return true;
}

// ---- backend TLS (backend_tls = true) ----------------------------------------------------
// A second Engine, in the client role, between the plaintext and the backend socket:
//   client plaintext -> write_to_backend -> clear_in -> cycle -> enc_out -> backend socket
//   backend socket -> run_backend_tls(enc_in) -> cycle -> clear_out -> deliver_backend_plaintext
// The connection stays in [connecting_backend] (under connect_timeout) until its handshake is done.

bool Connection::start_backend_tls() {
    auto engine = tls::Engine::create_client(settings_->backend_ctx.get(), settings_->backend_server_name,
                                             settings_->backend_checker ? &backend_gate_ : nullptr);
    if (!engine) {
        fail_backend(BackendFailure::tls, "backend TLS failed: " + engine.error().message);
        return false;
    }
    backend_tls_ = std::move(engine).value();
    run_backend_tls({});  // the ClientHello
    return state_ != ConnState::closing;
}

void Connection::write_to_backend(std::vector<std::uint8_t> plaintext) {
    if (!backend_tls_) return write(Side::backend, std::move(plaintext));
    backend_tls_->clear_in(plaintext);  // held by the engine until its handshake is done
    run_backend_tls({});
}

void Connection::run_backend_tls(std::span<const std::uint8_t> ciphertext) {
    backend_tls_->enc_in(ciphertext);
    if (backend_revocation_check_) return;  // verification paused: the decision resumes it
    tls::CycleEvents events = backend_tls_->cycle();
    flush_to_backend();
    if (events.failure) {
        return fail_backend(BackendFailure::tls, backend_tls_->certificate_rejected()
                                                     ? "backend certificate rejected: " + *events.failure
                                                     : "backend TLS failed: " + *events.failure);
    }
    if (events.verification_paused) return start_backend_revocation_check();
    if (events.handshake_done) on_backend_handshake_done();
    std::vector<std::uint8_t> plaintext;
    if (backend_tls_->take_clear_out(plaintext) > 0) deliver_backend_plaintext(plaintext);
    if (events.peer_closed && state_ != ConnState::closing) handle_backend_eof();
}

void Connection::on_backend_handshake_done() {
    state_ = ConnState::forwarding;
    schedule_session_checks();
    if (client_eof_) shutdown_side(Side::backend);  // deferred until now: see shutdown_side
}

std::optional<ChainVerdict> Connection::BackendRevocationGate::decide_now(STACK_OF(X509) * chain) {
    std::optional<ocsp::Decision> decision = connection_.settings_->backend_checker->decide_cached(chain);
    if (!decision) return std::nullopt;
    connection_.backend_revocation_ = std::move(decision);
    return connection_.backend_revocation_->verdict;
}

void Connection::start_backend_revocation_check() {
    // Owned here like revocation_check_: closing the connection cancels the callback.
    // No handshake budget of its own to plan for: connect_timeout bounds it from outside.
    backend_revocation_check_ = settings_->backend_checker->check(
        worker_.mailbox(), backend_tls_->pending_chain(), ocsp::no_deadline,
        [this](ocsp::Decision d) { on_backend_revocation_decided(std::move(d)); });
}

void Connection::on_backend_revocation_decided(ocsp::Decision decision) {
    if (state_ != ConnState::connecting_backend) return;
    backend_revocation_check_.reset();  // allowed from inside the callback (ocsp/checker.h)
    backend_revocation_ = std::move(decision);
    log_config_problems(*backend_revocation_, settings_->conf.backend_revocation);
    backend_tls_->resume_verification(backend_revocation_->verdict);
    run_backend_tls({});
    if (state_ != ConnState::closing) apply_backpressure();
}

void Connection::flush_to_backend() {
    if (backend_shut_) return;
    std::vector<std::uint8_t> ciphertext;
    if (backend_tls_->take_enc_out(ciphertext) > 0) write(Side::backend, std::move(ciphertext));
}

// ---- shared plumbing -------------------------------------------------------------------

// Sends now what the socket takes and queues only the rest, so the pending counters (and
// backpressure) see only bytes really waiting, and a write the kernel took at once holds no
// buffer or request. uv_try_write refuses (UV_EAGAIN) while earlier bytes are still queued,
// which keeps the order. On an error it sends nothing: the same bytes then go to uv_write,
// which reports the error through on_write_done, as every write error is reported.
void Connection::write(Side side, std::vector<std::uint8_t> data) {
    if (data.empty()) return;
    uv_tcp_t& target = side == Side::client ? client_ : backend_;
    uv_buf_t whole = uv_buf_init(reinterpret_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
    int sent = uv_try_write(as_stream(target), &whole, 1);
    std::size_t offset = sent > 0 ? static_cast<std::size_t>(sent) : 0;
    if (offset == data.size()) return;
    std::size_t queued = data.size() - offset;
    auto* request = new WriteRequest;
    request->data = std::move(data);
    request->queued = queued;
    request->connection = this;
    request->side = side;
    request->req.data = request;
    uv_buf_t rest = uv_buf_init(reinterpret_cast<char*>(request->data.data() + offset), static_cast<unsigned>(queued));
    if (int rc = uv_write(&request->req, as_stream(target), &rest, 1, on_write_done); rc != 0) {
        delete request;
        return fail(std::string(side == Side::client ? "client" : "backend") + " write error: " + uv_err_name(rc), false);
    }
    (side == Side::client ? client_pending_bytes_ : backend_pending_bytes_) += queued;
}

void Connection::on_write_done(uv_write_t* req, int status) noexcept {
    auto* request = static_cast<WriteRequest*>(req->data);
    Connection* self = request->connection;
    Side side = request->side;
    (side == Side::client ? self->client_pending_bytes_ : self->backend_pending_bytes_) -= request->queued;
    delete request;
    if (status == UV_ECANCELED) return;
    if (self->state_ == ConnState::closing) {
        // Lingering: the client's FIN, the linger bounds or the shutdown's error close it.
        if (side == Side::client && self->client_pending_bytes_ == 0 && !self->lingering_) self->close_handles();
        return;
    }
    if (status < 0 && side == Side::backend)
        return self->fail_backend(BackendFailure::closed, std::string("backend write error: ") + uv_err_name(status));
    if (status < 0) return self->fail(std::string("client write error: ") + uv_err_name(status), false);
    self->apply_backpressure();
    self->maybe_finish_forwarding();
}

void Connection::apply_backpressure() {
    if (state_ == ConnState::closing) return;
    constexpr std::size_t high = kMaxPendingWriteBytes;
    constexpr std::size_t low = kMaxPendingWriteBytes / 2;
    // Client -> backend: bounded by what the backend has not taken yet (or the TLS input
    // piling up while the handshake waits for a revocation answer).
    std::size_t toward_backend = backend_pending_bytes_ + early_plaintext_.size() + tls_->enc_in_pending() +
                                 (backend_tls_ ? backend_tls_->clear_in_pending() : 0);
    if (client_reading_ && toward_backend > high) {
        uv_read_stop(as_stream(client_));
        client_reading_ = false;
    } else if (!client_reading_ && !client_eof_ && toward_backend <= low) {
        uv_read_start(as_stream(client_), on_alloc, on_client_read);
        client_reading_ = true;
    }
    // Backend -> client: bounded by the ciphertext the client has not taken yet.
    if (!backend_connected_ || backend_eof_) return;
    if (backend_reading_ && client_pending_bytes_ > high) {
        uv_read_stop(as_stream(backend_));
        backend_reading_ = false;
    } else if (!backend_reading_ && client_pending_bytes_ <= low) {
        uv_read_start(as_stream(backend_), on_alloc, on_backend_read);
        backend_reading_ = true;
    }
}

void Connection::shutdown_side(Side side) {
    bool& shut = side == Side::client ? client_shut_ : backend_shut_;
    if (shut) return;
    if (side == Side::backend && backend_tls_) {
        // A TCP half-close would cut the backend handshake short: wait for it to finish.
        if (!backend_tls_->handshake_complete()) return;
        backend_tls_->shutdown();  // close_notify after everything the client sent
        flush_to_backend();
    }
    shut = true;
    uv_shutdown_t* req = side == Side::client ? &client_shutdown_req_ : &backend_shutdown_req_;
    uv_tcp_t& target = side == Side::client ? client_ : backend_;
    // uv_shutdown waits for queued writes, so nothing already accepted is lost.
    if (uv_shutdown(req, as_stream(target), on_shutdown_done) != 0) maybe_finish_forwarding();
}

void Connection::on_shutdown_done(uv_shutdown_t* req, int status) noexcept {
    if (status == UV_ECANCELED) return;
    static_cast<Connection*>(req->data)->maybe_finish_forwarding();
}

void Connection::maybe_finish_forwarding() {
    if (state_ == ConnState::closing) return;
    bool both_ended = client_eof_ && backend_eof_;
    bool all_written = client_pending_bytes_ == 0 && backend_pending_bytes_ == 0;
    if (both_ended && all_written) {
        state_ = ConnState::closing;
        close_handles();
    }
}

void Connection::arm_timer(std::uint64_t timeout_ms) { uv_timer_start(&timer_, on_timer, timeout_ms, 0); }

void Connection::note_activity() { last_activity_ms_ = uv_now(worker_.loop()); }

void Connection::on_timer(uv_timer_t* timer) noexcept {
    auto* self = static_cast<Connection*>(timer->data);
    switch (self->state_) {
        case ConnState::plaintext:
        case ConnState::handshaking:
            self->rejected_ = true;
            self->refusal_ = RefusalReason::handshake_timeout;
            return self->fail("handshake timeout");
        case ConnState::awaiting_revocation:
            self->rejected_ = true;
            self->refusal_ = RefusalReason::handshake_timeout;
            return self->fail("handshake timeout (revocation check pending)");
        case ConnState::connecting_backend:
            return self->fail_backend(BackendFailure::timeout, "backend connect timeout");
        case ConnState::forwarding:
            return self->on_forwarding_timer();
        case ConnState::answering_for_backend:
            return self->fail(self->close_reason_);  // the answering window is over
        case ConnState::closing:
            return self->close_handles();  // the client did not take our last bytes in time
    }
}

// ---- closing ---------------------------------------------------------------------------

void Connection::fail(std::string reason, bool flush_client) {
    if (state_ == ConnState::closing) return;
    bool forwarding_started = state_ == ConnState::forwarding || state_ == ConnState::connecting_backend ||
                              state_ == ConnState::answering_for_backend;
    if (close_reason_.empty() || !forwarding_started) close_reason_ = std::move(reason);
    state_ = ConnState::closing;
    revocation_check_.reset();  // cancels a pending lookup: its callback will not run
    await_slot_.release();
    backend_revocation_check_.reset();
    if (client_reading_) uv_read_stop(as_stream(client_));
    if (backend_reading_) uv_read_stop(as_stream(backend_));
    client_reading_ = backend_reading_ = false;
    if (flush_client && tls_ && !client_shut_) {
        tls_->shutdown();  // close_notify after the handshake; a failed handshake queued its alert
        flush_to_client();
    }
    if (try_start_lingering()) return;
    if (client_pending_bytes_ > 0) return arm_timer(kFlushTimeoutMs);  // on_write_done closes
    close_handles();
}

// The client was accepted but the backend cannot serve it: its own outcome (backend_failure.h),
// and its reason replaces one noted earlier ("client closed") since it says more.
void Connection::fail_backend(BackendFailure failure, std::string reason) {
    if (state_ == ConnState::closing) return;
    backend_failure_ = failure;
    close_reason_ = reason;
    if (!backend_connected_ && answer_for_backend()) return;
    fail(std::move(reason));
}

void Connection::close_handles() {
    state_ = ConnState::closing;
    stop_lingering();
    revocation_check_.reset();
    backend_revocation_check_.reset();
    if (!uv_is_closing(as_handle(client_))) uv_close(as_handle(client_), on_handle_closed);
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer_)))
        uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_handle_closed);
    if (backend_initialized_ && !uv_is_closing(as_handle(backend_))) uv_close(as_handle(backend_), on_handle_closed);
}

void Connection::on_handle_closed(uv_handle_t* handle) noexcept {
    auto* self = static_cast<Connection*>(handle->data);
    if (--self->open_handles_ > 0) return;
    self->log_outcome();
    self->count_outcome();
    self->worker_.release(self);  // frees *self
}

}  // namespace ocspgate::proxy
