// ocspgate-load's sip mode, one connection's side: a UA that sends one request at a time over
// its long-lived (TLS) connection and waits for the final response before the next, so that
// transactions/s and the latency of each transaction are measured, not pipelining.
#pragma once

#include <string>
#include <vector>

namespace ocspgate::perf {

enum class SipMethod { register_, options, mixed };  // mixed: REGISTER and OPTIONS alternate

class SipSession {
public:
    SipSession(SipMethod method, int connection_index);

    // The next request; each has its own Via branch and CSeq (RFC 3261 §8.1.1).
    std::string next_request();

    enum class Got { nothing, ok, failed };
    // Takes one whole response for the request last sent off the front of `stream`. failed:
    // `failure` says why (a non-2xx status, a CSeq that does not match, bytes that do not frame).
    Got take_response(std::vector<char>& stream, std::string& failure);

private:
    SipMethod method_;
    int index_;
    unsigned cseq_ = 0;
    const char* last_method_ = "";
};

}  // namespace ocspgate::perf
