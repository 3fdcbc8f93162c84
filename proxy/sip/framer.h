// Cuts a client's SIP byte stream into messages (RFC 3261 §7.5, §18.3) and keep-alives
// (RFC 5626 §4.4.1). No I/O: feed() the bytes as they arrive, split anywhere, then call
// next() until it returns nothing.
//
// Between messages:
//   CRLF CRLF            -> a keep-alive ping.
//   a lone CRLF          -> `crlf` (a pong to a ping the server sent, or an empty line that
//                           RFC 3261 §7.5 says to ignore); passed on as is. A lone CRLF that
//                           ends a read and is followed by another CRLF at the start of the
//                           next read is a ping split across reads: the second half comes out
//                           as `ping`.
// A message is complete once its empty line and Content-Length body bytes are in. A problem
// (malformed head, missing Content-Length, more than max_message_size bytes or max_headers
// fields) yields one `error` frame, after which the framer yields nothing: the stream cannot
// be re-synchronised, so the connection must close.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "proxy/sip/message.h"

namespace ocspgate::proxy::sip {

struct SipFrame {
    enum class Kind { message, ping, crlf, error };
    Kind kind = Kind::message;
    // kind == message: the whole message. kind == error: whatever of the head parsed (its
    // start line tells whether the client sent a request, its headers feed the answer).
    SipMessage message;
    SipHeadProblem problem;  // kind == error only
};

class SipFramer {
public:
    SipFramer(std::size_t max_message_size, std::size_t max_headers);

    void feed(std::span<const std::uint8_t> data);
    // The next frame, or nullopt until more bytes arrive (for ever after an error).
    std::optional<SipFrame> next();

private:
    std::optional<SipFrame> next_keepalive();
    std::optional<SipFrame> next_message();
    std::optional<SipFrame> finish_message(SipMessage message, std::size_t head_size);
    SipFrame refuse(SipMessage message, std::size_t head_size, SipHeadProblem problem);
    std::optional<SipFrame> check_start_line();
    SipFrame fail(SipMessage partial, SipHeadProblem problem);
    SipFrame take(SipFrame::Kind kind, std::size_t bytes);
    void skip(std::size_t bytes);
    std::string_view pending() const { return std::string_view(buffer_).substr(consumed_); }

    std::size_t max_message_size_;
    std::size_t max_headers_;
    std::string buffer_;                  // received; [0, consumed_) is framed already
    std::size_t consumed_ = 0;
    // "\r\n\r\n" is not in pending() before this offset; 0 for a message not yet tried.
    std::size_t blank_line_search_from_ = 0;
    bool lone_crlf_ended_read_ = false;   // the last frame was a lone CRLF at the buffer's end
    bool failed_ = false;
};

}  // namespace ocspgate::proxy::sip
