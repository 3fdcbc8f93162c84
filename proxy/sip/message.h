// SIP messages as the SIP front sees them (RFC 3261 §7): a start line, header fields, an
// empty line and a body. Parsing here is strict on purpose: ocspgate sits in front of servers
// that trust the headers it adds, so anything that two parsers could read differently (bare
// CR or LF, NUL, a header without a name, conflicting Content-Length values) is refused
// rather than guessed at.
//
// No I/O: these functions take and return strings.
#pragma once

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ocspgate::proxy::sip {

// One header field as it was on the wire. `name` and `value` are views into the SipMessage that
// holds the header (its `bytes`, or its own copy of a folded value), not strings: two string
// allocations per header were most of the cost of framing. Copying or moving the SipMessage
// points them at the copy; a SipHeader taken out of its message must not outlive it. (Between
// parse_sip_head(message, head, ...) and adopt_bytes() they point into `head` instead.)
struct SipHeader {
    std::string_view name;    // as written: compact ("v") or full ("Via") form
    std::string_view value;   // continuation lines joined by one space, outer whitespace trimmed
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
    std::vector<SipHeader> headers; // views into this message, see SipHeader

    SipMessage() = default;
    explicit SipMessage(std::string received) : bytes(std::move(received)) {}
    // A short `bytes` lives inside the std::string object itself (small-string optimisation),
    // so even a move must re-point the header views.
    SipMessage(const SipMessage& other);
    SipMessage(SipMessage&& other) noexcept;
    SipMessage& operator=(const SipMessage& other);
    SipMessage& operator=(SipMessage&& other) noexcept;
    ~SipMessage() = default;

    // Makes `received` the message's bytes after parse_sip_head() read the head from elsewhere:
    // `parsed_from` is where that copy of `received` starts (the framer parses in its own
    // buffer and copies a message once, when Content-Length tells how long it is).
    void adopt_bytes(std::string received, const char* parsed_from);

    // For the parser: adds a continuation line's text to `header` (the last of `headers`),
    // joined by one space.
    void fold_into(SipHeader& header, std::string_view more);

private:
    void repoint_views(std::string_view old_bytes, const std::list<std::string>& old_folded_values);

    // The joined values of folded fields, which are not in `bytes` as such (rare: RFC 3261
    // deprecates folding). A list, so that adding one moves none of the others.
    std::list<std::string> folded_values_;
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
// The same, reading the head from `head` rather than from `message.bytes`: the header views
// point into `head` until message.adopt_bytes(copy, head.data()).
std::optional<SipHeadProblem> parse_sip_head(SipMessage& message, std::string_view head,
                                             std::size_t max_headers);

// The framer's usual case, a head that arrived whole: parses the head at the start of `text`
// (which may go on with the body and further messages) and returns the offset just past its
// empty line, having found it in the same pass. nullopt when `text` does not hold a complete
// head or the head has a problem: parse_sip_head() on the complete head tells which. The header
// views point into `text`, as with parse_sip_head(message, head, ...).
std::optional<std::size_t> parse_whole_sip_head(SipMessage& message, std::string_view text,
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

}  // namespace ocspgate::proxy::sip
