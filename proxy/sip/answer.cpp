#include "proxy/sip/answer.h"

#include <fmt/format.h>

#include <array>
#include <string_view>

namespace ocspgate::proxy::sip {
namespace {

struct CopiedHeader {
    std::string_view full;
    std::string_view compact;
};

// In the order RFC 3261 §8.2.6.2 lists them; every Via is copied, in order.
constexpr std::array<CopiedHeader, 5> kCopiedHeaders{{
    {"Via", "v"}, {"From", "f"}, {"To", "t"}, {"Call-ID", "i"}, {"CSeq", ""}}};

std::string_view reason_phrase(int status) {
    if (status == 503) return "Service Unavailable";
    return status == 513 ? "Message Too Large" : "Bad Request";
}

// A tag parameter in a To value; good enough to avoid adding a second one.
bool has_tag(std::string_view value) {
    for (std::size_t at = value.find(';'); at != std::string_view::npos;
         at = value.find(';', at + 1)) {
        std::string_view parameter = value.substr(at + 1);
        while (!parameter.empty() && (parameter.front() == ' ' || parameter.front() == '\t')) {
            parameter.remove_prefix(1);
        }
        if (istarts_with(parameter, "tag=")) return true;
    }
    return false;
}

bool must_answer(const SipMessage& message) {
    return message.start && message.start->is_request && message.start->method != "ACK";
}

// The status line and the headers a response copies from its request.
std::string answer_head(const SipMessage& partial, int status) {
    std::string out = fmt::format("SIP/2.0 {} {}\r\n", status, reason_phrase(status));
    for (const CopiedHeader& copied : kCopiedHeaders) {
        for (const SipHeader& header : partial.headers) {
            if (!is_header(header.name, copied.full, copied.compact)) continue;
            std::string value(header.value);
            if (copied.full == "To" && !has_tag(value)) value += ";tag=ocspgate";
            out += fmt::format("{}: {}\r\n", copied.full, value);
        }
    }
    return out;
}

}  // namespace

std::string refusal_answer(const SipMessage& partial, const SipHeadProblem& problem) {
    if (!must_answer(partial)) return "";
    std::string out = answer_head(partial, problem.status);
    // The detail is ours (a fixed sentence), never client text, so it needs no escaping.
    out += fmt::format("Warning: 399 ocspgate \"{}\"\r\nContent-Length: 0\r\n\r\n", problem.detail);
    return out;
}

std::string unavailable_answer(const SipMessage& request, std::uint32_t retry_after_seconds) {
    if (!must_answer(request)) return "";
    return answer_head(request, 503) +
           fmt::format("Retry-After: {}\r\nWarning: 399 ocspgate \"backend unavailable\"\r\nContent-Length: 0\r\n\r\n",
                       retry_after_seconds);
}

}  // namespace ocspgate::proxy::sip
