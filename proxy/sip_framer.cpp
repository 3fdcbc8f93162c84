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

// Framed bytes are only skipped (consumed_) and dropped here, once they are at least half of
// the buffer: erasing each message from the front moved the rest of a read every time, which
// made framing a read of n messages cost O(n^2).
void SipFramer::feed(std::span<const std::uint8_t> data) {
    if (failed_ || data.empty()) return;
    if (consumed_ > 0 && consumed_ >= buffer_.size() / 2) {
        buffer_.erase(0, consumed_);
        consumed_ = 0;
    }
    buffer_.append(reinterpret_cast<const char*>(data.data()), data.size());
}

std::optional<SipFrame> SipFramer::next() {
    if (failed_ || pending().empty()) return std::nullopt;
    if (pending().front() == '\r') return next_keepalive();
    lone_crlf_ended_read_ = false;
    return next_message();
}

// The buffer starts with CR: a ping, a lone CRLF, or (anything else) the start of a message
// that the start-line check will refuse.
std::optional<SipFrame> SipFramer::next_keepalive() {
    std::string_view view = pending();
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
    std::string_view view = pending();
    std::size_t blank = view.find(kEmptyLine, blank_line_search_from_);
    if (blank == std::string_view::npos) {
        if (view.size() > max_message_size_) {
            SipMessage partial{std::string(view), 0, 0, std::nullopt, {}};
            std::size_t last_line_end = view.rfind(kCrlf);
            if (last_line_end != std::string_view::npos) {
                (void)parse_sip_head(partial, last_line_end + kCrlf.size(), max_headers_);
            }
            return fail(std::move(partial), {513, "message head larger than max_message_size"});
        }
        if (auto refused = check_start_line()) return refused;
        // Resume the search where a "\r\n\r\n" could still begin.
        blank_line_search_from_ = view.size() < 3 ? 0 : view.size() - 3;
        return std::nullopt;
    }
    std::size_t head_size = blank + kEmptyLine.size();
    SipMessage message{std::string(view.substr(0, head_size)), 0, head_size, std::nullopt, {}};
    if (auto problem = parse_sip_head(message, blank + kCrlf.size(), max_headers_)) {
        return fail(std::move(message), std::move(*problem));
    }
    ContentLength length = content_length_of(message);
    if (length.problem) return fail(std::move(message), std::move(*length.problem));
    std::size_t total = message.head_size + length.value;
    if (total > max_message_size_) {
        return fail(std::move(message), {513, "message larger than max_message_size"});
    }
    if (view.size() < total) {
        blank_line_search_from_ = blank;  // found again at once when the body is complete
        return std::nullopt;
    }
    message.bytes.append(view.substr(message.head_size, length.value));
    skip(total);
    return SipFrame{SipFrame::Kind::message, std::move(message), {}};
}

// Refuses garbage as soon as its first line is in, rather than after max_message_size bytes.
std::optional<SipFrame> SipFramer::check_start_line() {
    std::string_view view = pending();
    std::size_t first_line_end = view.find(kCrlf);
    if (first_line_end == std::string_view::npos) return std::nullopt;
    std::size_t head_end = first_line_end + kCrlf.size();
    SipMessage partial{std::string(view.substr(0, head_end)), 0, 0, std::nullopt, {}};
    if (auto problem = parse_sip_head(partial, head_end, max_headers_)) {
        return fail(std::move(partial), std::move(*problem));
    }
    return std::nullopt;
}

SipFrame SipFramer::fail(SipMessage partial, SipHeadProblem problem) {
    failed_ = true;
    buffer_.clear();
    buffer_.shrink_to_fit();
    consumed_ = 0;
    return SipFrame{SipFrame::Kind::error, std::move(partial), std::move(problem)};
}

SipFrame SipFramer::take(SipFrame::Kind kind, std::size_t bytes) {
    skip(bytes);
    return SipFrame{kind, {}, {}};
}

void SipFramer::skip(std::size_t bytes) {
    consumed_ += bytes;
    blank_line_search_from_ = 0;
    if (consumed_ == buffer_.size()) {  // all framed: the common case, nothing to keep
        buffer_.clear();
        consumed_ = 0;
    }
}

}  // namespace ocspgate::proxy
