// SIP messages for the perf tools: frames messages out of a TCP byte stream (used by the load
// generator for responses and by ocspgate-echo --sip for requests) and builds the 200 OK a UAS
// would send (RFC 3261 §8.2.6: Via, From, To, Call-ID and CSeq copied, a To tag added). Pure
// functions, no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ocspgate::perf {

// Bounds what one message may take, so a peer that never ends its head cannot grow the buffer.
inline constexpr std::size_t kMaxSipMessageBytes = 64 * 1024;

struct SipFrame {
    std::size_t skipped = 0;   // leading CRLFs (keep-alives) before the message; set even when incomplete
    std::size_t length = 0;    // head + empty line + body, after `skipped`
    std::string_view head;     // start line and header fields, without the empty line
};

enum class FrameStatus { complete, incomplete, malformed };

// Looks for one whole message at the start of `stream`. malformed: no Content-Length (mandatory
// on stream transports, RFC 3261 §18.3) or a message above kMaxSipMessageBytes.
FrameStatus frame_sip(std::string_view stream, SipFrame& frame);

// The 200 OK for the request whose head is `head`; empty when `head` is a response (starts
// with "SIP/2.0"), which needs no answer.
std::string answer_ok(std::string_view head);

// The status code of a response head ("SIP/2.0 200 OK..." -> 200); -1 when it is not a response.
int status_code(std::string_view head);

// The value of the first header called `name` (or its compact form, "" if none); empty if absent.
std::string_view header_value(std::string_view head, std::string_view name, std::string_view compact = "");

}  // namespace ocspgate::perf
