#include "proxy/sip/front.h"

#include <chrono>
#include <string>
#include <string_view>

#include "proxy/sip/answer.h"
#include "proxy/sip/identity.h"

namespace ocspgate::proxy::sip {
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
            case SipFrame::Kind::message:
                if (backend_failed_) {
                    answer_unavailable(frame->message, out);
                    if (out.close_reason) return;
                } else {
                    forward_message(frame->message, out);
                }
                break;
            case SipFrame::Kind::ping: answer_keepalive(out); break;
            case SipFrame::Kind::crlf:
                if (!backend_failed_) append_bytes(out.to_backend, kCrlf);
                break;
            case SipFrame::Kind::error: return refuse(*frame, out);
        }
    }
}

// The backend could not be reached: the requests queued for it, and the ones that follow, are
// answered 503 with Retry-After so that the phone tries its next server now. `unsent` holds
// only complete messages and keep-alives as this front wrote them, so it frames again.
bool SipFront::on_backend_failed(std::span<const std::uint8_t> unsent, FrontOutput& out) {
    if (!settings_.answer_unavailable) return false;
    backend_failed_ = true;
    SipFramer replay(settings_.max_message_size + identity_block_.size(), settings_.max_headers + 16);
    replay.feed(unsent);
    while (std::optional<SipFrame> frame = replay.next()) {
        if (frame->kind != SipFrame::Kind::message) continue;
        answer_unavailable(frame->message, out);
        if (out.close_reason) break;
    }
    return true;
}

void SipFront::answer_unavailable(const SipMessage& message, FrontOutput& out) {
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(settings_.retry_after).count();
    std::string answer = unavailable_answer(message, static_cast<std::uint32_t>(seconds));
    if (answer.empty()) return;  // an ACK or a response: nothing to answer, nowhere to send it
    append_bytes(out.to_client, answer);
    if (++unavailable_answers_ >= kMaxUnavailableAnswers)
        out.close_reason = "sip: answered " + std::to_string(unavailable_answers_) + " requests with 503";
}

void SipFront::on_backend_data(std::span<const std::uint8_t> data, FrontOutput& out) {
    out.to_client.assign(data.begin(), data.end());
}

// Every message loses the identity headers the client forged, responses as much as requests:
// a phone answering a server-initiated INVITE must not speak for ocspgate either. Only
// requests get the genuine ones. SIP authorizes requests, not responses (a response is matched
// to its transaction by Via and the connection it arrives on), and a server relays a response
// back toward whoever sent the request mostly as it came, so identity headers in a 200 OK
// would tell the caller the callee's certificate details and tell the server nothing new.
void SipFront::forward_message(const SipMessage& message, FrontOutput& out) const {
    bool is_request = message.start && message.start->is_request;
    std::string_view block = is_request ? std::string_view(identity_block_) : std::string_view();
    append_rewritten_message(message, settings_.header_prefix, block, out.to_backend);
}

void SipFront::answer_keepalive(FrontOutput& out) const {
    if (settings_.keepalive == conf::SipKeepalive::answer || backend_failed_) {
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

}  // namespace ocspgate::proxy::sip
