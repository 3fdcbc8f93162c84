#include "perf/load/sip_mode.h"

#include <charconv>
#include <string_view>

#include "perf/sip/message.h"

namespace ocspgate::perf {

SipSession::SipSession(SipMethod method, int connection_index) : method_{method}, index_{connection_index} {}

std::string SipSession::next_request() {
    ++cseq_;
    const bool is_register =
        method_ == SipMethod::register_ || (method_ == SipMethod::mixed && cseq_ % 2 == 1);
    last_method_ = is_register ? "REGISTER" : "OPTIONS";
    const std::string ua = "phone-" + std::to_string(index_);
    const std::string n = std::to_string(cseq_);
    // A registration keeps its Call-ID across refreshes (RFC 3261 §10.2); OPTIONS are new dialogs.
    const std::string call_id = is_register ? ua + "-reg@load.invalid" : ua + "-" + n + "@load.invalid";
    std::string r;
    r.reserve(400);
    r.append(last_method_).append(" sip:load.invalid SIP/2.0\r\n");
    r.append("Via: SIP/2.0/TLS 127.0.0.1;branch=z9hG4bK").append(ua).append("-").append(n).append(";rport\r\n");
    r.append("Max-Forwards: 70\r\n");
    r.append("From: <sip:").append(ua).append("@load.invalid>;tag=").append(ua).append("\r\n");
    r.append("To: <sip:").append(is_register ? ua + "@load.invalid" : std::string{"load.invalid"}).append(">\r\n");
    r.append("Call-ID: ").append(call_id).append("\r\n");
    r.append("CSeq: ").append(n).append(" ").append(last_method_).append("\r\n");
    if (is_register) {
        r.append("Contact: <sip:").append(ua).append("@127.0.0.1;transport=tls>\r\nExpires: 3600\r\n");
    }
    r.append("Content-Length: 0\r\n\r\n");
    return r;
}

SipSession::Got SipSession::take_response(std::vector<char>& stream, std::string& failure) {
    SipFrame frame;
    const std::string_view bytes{stream.data(), stream.size()};
    const FrameStatus status = frame_sip(bytes, frame);
    if (status == FrameStatus::incomplete) {
        // CRLF keep-alives before a response need no answer: drop them so they cannot pile up.
        stream.erase(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(frame.skipped));
        return Got::nothing;
    }
    if (status == FrameStatus::malformed) {
        failure = "sip: response does not frame";
        return Got::failed;
    }
    const int code = status_code(frame.head);
    if (code >= 100 && code < 200) {  // provisional (100 Trying): the final response follows
        stream.erase(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(frame.skipped + frame.length));
        return take_response(stream, failure);
    }
    const std::string_view cseq = header_value(frame.head, "CSeq");
    unsigned number = 0;
    std::from_chars(cseq.data(), cseq.data() + cseq.size(), number);
    Got got = Got::ok;
    if (code < 200 || code > 299) {
        failure = code < 0 ? "sip: not a response" : "sip: status " + std::to_string(code);
        got = Got::failed;
    } else if (number != cseq_ || cseq.find(last_method_) == std::string_view::npos) {
        failure = "sip: response CSeq does not match the request";
        got = Got::failed;
    }
    stream.erase(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(frame.skipped + frame.length));
    return got;
}

}  // namespace ocspgate::perf
