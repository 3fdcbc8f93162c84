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

private:
    void forward_message(const SipMessage& message, FrontOutput& out) const;
    void answer_keepalive(FrontOutput& out) const;
    static void refuse(const SipFrame& frame, FrontOutput& out);

    const conf::SipSettings& settings_;  // owned by the listener, which outlives connections
    SipFramer framer_;
    std::string identity_block_;  // built once per connection, empty when disabled
};

}  // namespace ocspgate::proxy::sip
