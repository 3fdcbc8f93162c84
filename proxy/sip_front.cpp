#include "proxy/sip_front.h"

#include <string_view>

#include "proxy/sip_answer.h"
#include "proxy/sip_identity.h"

namespace ocspgate::proxy {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kPing = "\r\n\r\n";

}  // namespace

SipFront::SipFront(const conf::SipSettings& settings)
    : settings_(settings), framer_(settings.max_message_size, settings.max_headers) {}

void SipFront::on_handshake_done(const PeerIdentity& peer) {
    if (settings_.identity_headers) identity_block_ = identity_header_block(peer, settings_.header_prefix);
}

void SipFront::on_client_data(std::span<const std::uint8_t> data, FrontOutput& out) {
    framer_.feed(data);
    while (std::optional<SipFrame> frame = framer_.next()) {
        switch (frame->kind) {
            case SipFrame::Kind::message: forward_message(frame->message, out); break;
            case SipFrame::Kind::ping: answer_keepalive(out); break;
            case SipFrame::Kind::crlf: append_bytes(out.to_backend, kCrlf); break;
            case SipFrame::Kind::error: return refuse(*frame, out);
        }
    }
}

void SipFront::on_backend_data(std::span<const std::uint8_t> data, FrontOutput& out) {
    out.to_client.assign(data.begin(), data.end());
}

// Requests get the identity headers (and lose any the client forged); responses pass as is.
void SipFront::forward_message(const SipMessage& message, FrontOutput& out) const {
    if (message.start && message.start->is_request) {
        append_rewritten_request(message, settings_.header_prefix, identity_block_, out.to_backend);
    } else {
        append_bytes(out.to_backend, message.bytes);
    }
}

void SipFront::answer_keepalive(FrontOutput& out) const {
    if (settings_.keepalive == conf::SipKeepalive::answer) {
        append_bytes(out.to_client, kCrlf);
    } else {
        append_bytes(out.to_backend, kPing);
    }
}

// Messages framed before the problem were already queued for the backend; nothing of the
// refused one is.
void SipFront::refuse(const SipFrame& frame, FrontOutput& out) {
    append_bytes(out.to_client, refusal_answer(frame.message, frame.problem));
    out.close_reason = "sip: " + frame.problem.detail;
}

}  // namespace ocspgate::proxy
