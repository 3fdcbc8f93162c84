// SIP messages as the SIP front sees them (RFC 3261 §7): a start line, header fields, an
// empty line and a body. Parsing here is strict on purpose: ocspgate sits in front of servers
// that trust the headers it adds, so anything that two parsers could read differently (bare
// CR or LF, NUL, a header without a name, conflicting Content-Length values) is refused
// rather than guessed at.
//
// No I/O: these functions take and return strings.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ocspgate::proxy {

// One header field as it was on the wire.
struct SipHeader {
    std::string name;         // as written: compact ("v") or full ("Via") form
    std::string value;        // continuation lines joined by one space, outer whitespace trimmed
    std::size_t begin = 0;    // the raw field, continuation lines and final CRLF included,
    std::size_t end = 0;      //   is SipMessage::bytes[begin, end)
};

struct SipStartLine {
    bool is_request = false;
    std::string method;       // requests only, e.g. "INVITE"
};

// A complete message (SipFramer) or the parseable part of a refused one (for the answer).
struct SipMessage {
    std::string bytes;              // head, empty line and body, exactly as received
    std::size_t start_line_end = 0; // offset just past the start line's CRLF
    std::size_t head_size = 0;      // offset just past the empty line (= where the body starts)
    std::optional<SipStartLine> start;
    std::vector<SipHeader> headers;
};

// Why a head was refused, and what the client is answered if it sent a request.
struct SipHeadProblem {
    int status = 400;         // 400 Bad Request or 513 Message Too Large
    std::string detail;       // for logs and the Warning header
};

// Parses the start line and header fields of `message.bytes[0, head_end)`, where head_end is
// just past the CRLF of the last complete line (the empty line excluded). Fills
// `message.start`, `message.start_line_end` and `message.headers` with everything that parsed
// before the first problem, which it returns. More than `max_headers` fields is a problem
// (513). Folded continuation lines (RFC 3261 §7.3.1) are part of their field.
std::optional<SipHeadProblem> parse_sip_head(SipMessage& message, std::size_t head_end,
                                             std::size_t max_headers);

// Content-Length (or its compact form "l"): the value, a problem when absent (mandatory on
// streams, RFC 3261 §18.3), not a number, or given twice with different values.
struct ContentLength {
    std::size_t value = 0;
    std::optional<SipHeadProblem> problem;
};
ContentLength content_length_of(const SipMessage& message);

// ASCII case-insensitive equality and prefix test, for header names (RFC 3261 §7.3.1).
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view text, std::string_view prefix);

// Whether `name` (as written) is the header `full` or its compact form `compact` ("" if none).
bool is_header(std::string_view name, std::string_view full, std::string_view compact = "");

}  // namespace ocspgate::proxy
