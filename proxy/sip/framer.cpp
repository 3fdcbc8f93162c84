#include "proxy/sip/framer.h"

#include <string_view>
#include <utility>

namespace ocspgate::proxy::sip {
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

// A message's head is usually all there on the first attempt, clean: then one pass parses it
// and finds its end. Otherwise (incomplete, malformed, or waiting for the body) the empty line
// is searched for, resuming where the last search stopped, and the head parsed once it is in,
// so that a head arriving in small pieces is not parsed again for each.
std::optional<SipFrame> SipFramer::next_message() {
    std::string_view view = pending();
    if (blank_line_search_from_ == 0) {  // a first attempt: later ones resume the search
        SipMessage message;
        if (std::optional<std::size_t> head_size = parse_whole_sip_head(message, view, max_headers_)) {
            return finish_message(std::move(message), *head_size);
        }
    }
    std::size_t blank = view.find(kEmptyLine, blank_line_search_from_);
    if (blank == std::string_view::npos) {
        if (view.size() > max_message_size_) {
            SipMessage partial{std::string(view)};
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
    SipMessage message;
    if (auto problem = parse_sip_head(message, view.substr(0, blank + kCrlf.size()), max_headers_)) {
        return refuse(std::move(message), head_size, std::move(*problem));
    }
    return finish_message(std::move(message), head_size);
}

// `message` holds the head, pending()[0, head_size), parsed where it lies in the buffer. The
// message is copied out of the buffer once, when Content-Length has told how long it is and the
// body is in.
std::optional<SipFrame> SipFramer::finish_message(SipMessage message, std::size_t head_size) {
    std::string_view view = pending();
    message.head_size = head_size;
    ContentLength length = content_length_of(message);
    if (length.problem) return refuse(std::move(message), head_size, std::move(*length.problem));
    std::size_t total = head_size + length.value;
    if (total > max_message_size_) {
        return refuse(std::move(message), head_size, {513, "message larger than max_message_size"});
    }
    if (view.size() < total) {
        blank_line_search_from_ = head_size - kEmptyLine.size();  // found again at once then
        return std::nullopt;
    }
    message.adopt_bytes(std::string(view.substr(0, total)), view.data());
    skip(total);
    return SipFrame{SipFrame::Kind::message, std::move(message), {}};
}

// The refused message keeps its head (parsed in the buffer) for the answer.
SipFrame SipFramer::refuse(SipMessage message, std::size_t head_size, SipHeadProblem problem) {
    message.head_size = head_size;
    message.adopt_bytes(std::string(pending().substr(0, head_size)), pending().data());
    return fail(std::move(message), std::move(problem));
}

// Refuses garbage as soon as its first line is in, rather than after max_message_size bytes.
std::optional<SipFrame> SipFramer::check_start_line() {
    std::string_view view = pending();
    std::size_t first_line_end = view.find(kCrlf);
    if (first_line_end == std::string_view::npos) return std::nullopt;
    std::size_t head_end = first_line_end + kCrlf.size();
    SipMessage partial{std::string(view.substr(0, head_end))};
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

}  // namespace ocspgate::proxy::sip
