#include "perf/sip/message.h"

#include <array>
#include <cctype>
#include <charconv>

namespace ocspgate::perf {
namespace {

constexpr std::string_view kCrlf = "\r\n";

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Calls `each(name, value, line)` for every header line of `head` (after the start line).
// Folded continuation lines are rare and not produced by the load generator: they are treated
// as lines without a colon and skipped.
template <class Fn>
void for_each_header(std::string_view head, Fn each) {
    std::size_t at = head.find(kCrlf);
    while (at != std::string_view::npos && at + 2 <= head.size()) {
        const std::size_t start = at + 2;
        std::size_t end = head.find(kCrlf, start);
        if (end == std::string_view::npos) end = head.size();
        const std::string_view line = head.substr(start, end - start);
        const std::size_t colon = line.find(':');
        if (colon != std::string_view::npos) each(trim(line.substr(0, colon)), trim(line.substr(colon + 1)), line);
        at = end == head.size() ? std::string_view::npos : end;
    }
}

// Long and compact (RFC 3261 §7.3.3) names of the headers a response copies.
bool is_named(std::string_view name, std::string_view full, std::string_view compact) {
    return iequals(name, full) || iequals(name, compact);
}

}  // namespace

FrameStatus frame_sip(std::string_view stream, SipFrame& frame) {
    frame = {};
    while (stream.substr(frame.skipped, 2) == kCrlf) frame.skipped += 2;
    stream.remove_prefix(frame.skipped);
    const std::size_t end = stream.find("\r\n\r\n");
    if (end == std::string_view::npos)
        return stream.size() > kMaxSipMessageBytes ? FrameStatus::malformed : FrameStatus::incomplete;
    const std::string_view head = stream.substr(0, end);
    std::optional<std::size_t> body;
    for_each_header(head, [&](std::string_view name, std::string_view value, std::string_view) {
        if (!is_named(name, "Content-Length", "l")) return;
        std::size_t n = 0;
        const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (ec == std::errc{} && ptr == value.data() + value.size()) body = n;
    });
    if (!body || end + 4 + *body > kMaxSipMessageBytes) return FrameStatus::malformed;
    if (stream.size() < end + 4 + *body) return FrameStatus::incomplete;
    frame.head = head;
    frame.length = end + 4 + *body;
    return FrameStatus::complete;
}

std::string answer_ok(std::string_view head) {
    if (head.substr(0, 8) == "SIP/2.0 ") return {};
    std::string out = "SIP/2.0 200 OK\r\n";
    for_each_header(head, [&](std::string_view name, std::string_view value, std::string_view line) {
        if (is_named(name, "Via", "v") || is_named(name, "From", "f") || is_named(name, "Call-ID", "i") ||
            iequals(name, "CSeq")) {
            out.append(line).append(kCrlf);
        } else if (is_named(name, "To", "t")) {
            out.append(line);
            if (value.find(";tag=") == std::string_view::npos) out.append(";tag=ocspgate-echo");
            out.append(kCrlf);
        }
    });
    out.append("Content-Length: 0\r\n\r\n");
    return out;
}

int status_code(std::string_view head) {
    if (head.substr(0, 8) != "SIP/2.0 " || head.size() < 11) return -1;
    int code = 0;
    const auto [ptr, ec] = std::from_chars(head.data() + 8, head.data() + 11, code);
    return ec == std::errc{} && ptr == head.data() + 11 ? code : -1;
}

std::string_view header_value(std::string_view head, std::string_view name, std::string_view compact) {
    std::string_view found;
    bool seen = false;
    for_each_header(head, [&](std::string_view n, std::string_view value, std::string_view) {
        if (!seen && (iequals(n, name) || (!compact.empty() && iequals(n, compact)))) {
            found = value;
            seen = true;
        }
    });
    return found;
}

}  // namespace ocspgate::perf
