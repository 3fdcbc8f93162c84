// Lingering close after a refusal, as nginx's lingering_close: once the fatal alert is queued,
// our sending side is shut down (FIN after the alert) and whatever the client still sends is
// read and dropped, for at most [server] linger_timeout and linger_max_bytes, before the socket
// is closed.
//
// Why: a client may still be writing its handshake when the refusal goes out (Java JSSE at
// TLS 1.3 writes Certificate, CertificateVerify and Finished in one flight and only then
// reads). Closing a socket whose receive queue holds unread bytes, or that receives bytes after
// close(), makes the kernel answer with RST; the client's next read then fails with
// "Connection reset" and the alert waiting in its receive queue is lost with the reason.
// Reading until the client's own FIN (or the bounds) lets every client read the alert.
//
// Bounds: the per-connection time and byte limits, and a process-wide cap on connections
// lingering at once (Shared::lingering, [server] max_lingering); beyond it a refusal closes at
// once, as it did before. A lingering connection is a closing connection (state_ closing,
// lingering_ set): nothing of it is forwarded or decided any more.
#include "proxy/core/connection.h"
#include "proxy/core/worker.h"

namespace ocspgate::proxy {
namespace {

uv_stream_t* as_stream(uv_tcp_t& tcp) { return reinterpret_cast<uv_stream_t*>(&tcp); }

}  // namespace

bool Connection::try_start_lingering() {
    const conf::Server& server = worker_.server_settings();
    if (!linger_after_refusal_ || client_shut_ || server.linger_timeout.count() <= 0) return false;
    Shared& shared = worker_.shared();
    if (shared.lingering.fetch_add(1, std::memory_order_relaxed) >= server.max_lingering) {
        shared.lingering.fetch_sub(1, std::memory_order_relaxed);
        shared.linger_skipped.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    shared.lingering_closes.fetch_add(1, std::memory_order_relaxed);
    lingering_ = true;
    linger_bytes_left_ = server.linger_max_bytes;
    client_shut_ = true;
    // uv_shutdown sends the FIN after the queued alert; until the client's own FIN we read.
    if (uv_shutdown(&client_shutdown_req_, as_stream(client_), on_linger_shutdown) != 0) {
        close_handles();
        return true;
    }
    uv_read_start(as_stream(client_), on_alloc, on_linger_read);
    arm_timer(static_cast<std::uint64_t>(server.linger_timeout.count()));  // on_timer: closing closes
    return true;
}

void Connection::on_linger_shutdown(uv_shutdown_t* req, int status) noexcept {
    auto* self = static_cast<Connection*>(req->data);
    // The alert could not be sent (the client reset us): there is nobody left to read it.
    if (status < 0 && status != UV_ECANCELED) self->close_handles();
}

void Connection::on_linger_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* /*buf*/) noexcept {
    auto* self = static_cast<Connection*>(stream->data);
    if (nread == 0) return;  // EAGAIN
    if (nread > 0 && static_cast<std::size_t>(nread) < self->linger_bytes_left_) {
        self->linger_bytes_left_ -= static_cast<std::size_t>(nread);  // dropped unread
        return;
    }
    self->close_handles();  // the client's FIN, an error, or the byte limit
}

void Connection::stop_lingering() {
    if (!lingering_) return;
    lingering_ = false;
    worker_.shared().lingering.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace ocspgate::proxy
