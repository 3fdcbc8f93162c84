// When the backend fails an accepted client before a connection to it was made (refused,
// connect timeout), a front may answer the client on the backend's behalf instead of closing
// (SIP: 503 with Retry-After, [listener.sip] answer_unavailable; LDAP: resultCode
// unavailable, [listener.ldap] answer_unavailable), so that a client with a second server
// fails over at once. Only before the connect completed: until then everything the front
// passed for the backend is still in early_plaintext_, so every request can be answered.
//
// The connection stays in [answering_for_backend] until the front closes it, the client
// closes, or kAnswerWindowMs passes; it is still counted and logged as backend_failed.
#include "proxy/core/connection.h"
#include "proxy/core/worker.h"

namespace ocspgate::proxy {
namespace {

// Long enough for a client that finished its handshake to send its first request, short
// enough that a client which never sends one does not hold the connection.
constexpr std::uint64_t kAnswerWindowMs = 10000;

}  // namespace

bool Connection::answer_for_backend() {
    if (!front_ || !tls_ || !tls_->handshake_complete()) return false;
    FrontOutput out;
    if (!front_->on_backend_failed(early_plaintext_, out)) return false;
    early_plaintext_.clear();
    state_ = ConnState::answering_for_backend;
    // A connect still pending (connect timeout) is cancelled: its callback sees UV_ECANCELED.
    auto* backend = reinterpret_cast<uv_handle_t*>(&backend_);
    if (backend_initialized_ && !uv_is_closing(backend)) uv_close(backend, on_handle_closed);
    arm_timer(kAnswerWindowMs);
    apply_front_output(out);
    if (state_ != ConnState::closing) apply_backpressure();
    return true;
}

}  // namespace ocspgate::proxy
