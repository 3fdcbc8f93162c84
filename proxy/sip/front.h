// The SIP front (protocol = "sip"): frames the client's SIP stream, refuses what does not
// parse (answering requests with 400 or 513, then closing), removes identity headers forged
// by the client from every message, adds the client certificate's identity headers to
// requests, and answers or passes CRLF keep-alives. Backend bytes go to the client unchanged.
// See docs/SIP.md for deployment, proxy/sip/framer.h for framing.
#pragma once

#include <string>

#include "conf/config.h"
#include "proxy/front/front.h"
#include "proxy/sip/framer.h"

namespace ocspgate::proxy::sip {

class SipFront final : public Front {
public:
    explicit SipFront(const conf::SipSettings& settings);

    void on_handshake_done(const PeerIdentity& peer) override;
    void on_client_data(std::span<const std::uint8_t> data, FrontOutput& out) override;
    void on_backend_data(std::span<const std::uint8_t> data, FrontOutput& out) override;
    bool on_backend_failed(std::span<const std::uint8_t> unsent, FrontOutput& out) override;

    // answer_unavailable: most requests answered with 503 on one connection before it closes.
    static constexpr std::size_t kMaxUnavailableAnswers = 16;

private:
    void forward_message(const SipMessage& message, FrontOutput& out) const;
    void answer_keepalive(FrontOutput& out) const;
    static void refuse(const SipFrame& frame, FrontOutput& out);
    void answer_unavailable(const SipMessage& message, FrontOutput& out);

    const conf::SipSettings& settings_;  // owned by the listener, which outlives connections
    SipFramer framer_;
    std::string identity_block_;  // built once per connection, empty when disabled
    bool backend_failed_ = false;    // answering 503 instead of forwarding (answer_unavailable)
    std::size_t unavailable_answers_ = 0;
};

}  // namespace ocspgate::proxy::sip
