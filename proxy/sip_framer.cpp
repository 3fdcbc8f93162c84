#include "proxy/sip_framer.h"

#include <string_view>
#include <utility>

namespace ocspgate::proxy {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kEmptyLine = "\r\n\r\n";

}  // namespace

SipFramer::SipFramer(std::size_t max_message_size, std::size_t max_headers)
    : max_message_size_(max_message_size), max_headers_(max_headers) {}

void SipFramer::feed(std::span<const std::uint8_t> data) {
    if (failed_ || data.empty()) return;
    buffer_.append(reinterpret_cast<const char*>(data.data()), data.size());
}

std::optional<SipFrame> SipFramer::next() {
    if (failed_ || buffer_.empty()) return std::nullopt;
    if (buffer_.front() == '\r') return next_keepalive();
    lone_crlf_ended_read_ = false;
    return next_message();
}

// The buffer starts with CR: a ping, a lone CRLF, or (anything else) the start of a message
// that the start-line check will refuse.
std::optional<SipFrame> SipFramer::next_keepalive() {
    std::string_view view(buffer_);
    bool second_half_of_ping = lone_crlf_ended_read_ && view.starts_with(kCrlf);
    lone_crlf_ended_read_ = false;
    if (second_half_of_ping) return take(SipFrame::Kind::ping, kCrlf.size());
    if (view.starts_with(kEmptyLine)) return take(SipFrame::Kind::ping, kEmptyLine.size());
    if (view.size() < kEmptyLine.size() && kEmptyLine.starts_with(view)) {
        if (view.size() != kCrlf.size()) return std::nullopt;  // "\r" or "\r\n\r": wait
        lone_crlf_ended_read_ = true;
        return take(SipFrame::Kind::crlf, kCrlf.size());
    }
    if (view.starts_with(kCrlf)) return take(SipFrame::Kind::crlf, kCrlf.size());
    return next_message();
}

std::optional<SipFrame> SipFramer::next_message() {
    std::size_t blank = buffer_.find(kEmptyLine, blank_line_search_from_);
    if (blank == std::string::npos) {
        if (buffer_.size() > max_message_size_) {
            SipMessage partial{buffer_, 0, 0, std::nullopt, {}};
            std::size_t last_line_end = buffer_.rfind(kCrlf);
            if (last_line_end != std::string::npos) {
                (void)parse_sip_head(partial, last_line_end + kCrlf.size(), max_headers_);
            }
            return fail(std::move(partial), {513, "message head larger than max_message_size"});
        }
        if (auto refused = check_start_line()) return refused;
        // Resume the search where a "\r\n\r\n" could still begin.
        blank_line_search_from_ = buffer_.size() < 3 ? 0 : buffer_.size() - 3;
        return std::nullopt;
    }
    SipMessage message{buffer_.substr(0, blank + kEmptyLine.size()), 0, blank + kEmptyLine.size(),
                       std::nullopt, {}};
    if (auto problem = parse_sip_head(message, blank + kCrlf.size(), max_headers_)) {
        return fail(std::move(message), std::move(*problem));
    }
    ContentLength length = content_length_of(message);
    if (length.problem) return fail(std::move(message), std::move(*length.problem));
    std::size_t total = message.head_size + length.value;
    if (total > max_message_size_) {
        return fail(std::move(message), {513, "message larger than max_message_size"});
    }
    if (buffer_.size() < total) {
        blank_line_search_from_ = blank;  // found again at once when the body is complete
        return std::nullopt;
    }
    message.bytes.append(buffer_, message.head_size, length.value);
    buffer_.erase(0, total);
    blank_line_search_from_ = 0;
    return SipFrame{SipFrame::Kind::message, std::move(message), {}};
}

// Refuses garbage as soon as its first line is in, rather than after max_message_size bytes.
std::optional<SipFrame> SipFramer::check_start_line() {
    std::size_t first_line_end = buffer_.find(kCrlf);
    if (first_line_end == std::string::npos) return std::nullopt;
    std::size_t head_end = first_line_end + kCrlf.size();
    SipMessage partial{buffer_.substr(0, head_end), 0, 0, std::nullopt, {}};
    if (auto problem = parse_sip_head(partial, head_end, max_headers_)) {
        return fail(std::move(partial), std::move(*problem));
    }
    return std::nullopt;
}

SipFrame SipFramer::fail(SipMessage partial, SipHeadProblem problem) {
    failed_ = true;
    buffer_.clear();
    buffer_.shrink_to_fit();
    return SipFrame{SipFrame::Kind::error, std::move(partial), std::move(problem)};
}

SipFrame SipFramer::take(SipFrame::Kind kind, std::size_t bytes) {
    buffer_.erase(0, bytes);
    blank_line_search_from_ = 0;
    return SipFrame{kind, {}, {}};
}

}  // namespace ocspgate::proxy
