#include "ocsp/http_response.h"

#include <algorithm>
#include <new>
#include <string_view>
#include <utility>

namespace ocspgate::ocsp {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
    auto fold = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return fold(x) == fold(y); });
}

std::string_view trimmed(std::string_view text) noexcept {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// delta-seconds (RFC 9111 §1.2.2), quoted or not (§5.2: senders must not quote it, but
// recipients should accept the quoted form). Values past a year saturate: nothing here caches
// longer than its own bounds anyway.
std::optional<std::chrono::seconds> delta_seconds(std::string_view text) noexcept {
    if (text.size() >= 2 && text.front() == '"' && text.back() == '"') text = text.substr(1, text.size() - 2);
    if (text.empty()) return std::nullopt;
    constexpr long long cap = 366LL * 24 * 3600;
    long long value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = std::min(cap, value * 10 + (c - '0'));
    }
    return std::chrono::seconds(value);
}

}  // namespace

std::optional<std::chrono::seconds> cache_control_max_age(std::string_view value) noexcept {
    std::optional<std::chrono::seconds> bound;
    auto lower = [&](std::chrono::seconds s) { bound = bound ? std::min(*bound, s) : s; };
    while (!value.empty()) {
        const auto comma = value.find(',');
        const std::string_view directive = trimmed(value.substr(0, comma));
        value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
        const auto equals = directive.find('=');
        const std::string_view name = trimmed(directive.substr(0, equals));
        if (iequals(name, "no-store") || iequals(name, "no-cache")) {
            lower(std::chrono::seconds(0));
        } else if (iequals(name, "max-age")) {
            std::optional<std::chrono::seconds> seconds;
            if (equals != std::string_view::npos) seconds = delta_seconds(trimmed(directive.substr(equals + 1)));
            lower(seconds.value_or(std::chrono::seconds(0)));  // invalid freshness is stale
        }
    }
    return bound;
}

const llhttp_settings_t& ResponseParser::settings() noexcept {
    static const llhttp_settings_t table = [] {
        llhttp_settings_t s;
        llhttp_settings_init(&s);
        s.on_status = on_metadata;
        s.on_chunk_extension_name = on_metadata;
        s.on_chunk_extension_value = on_metadata;
        s.on_header_field = on_header_field;
        s.on_header_field_complete = on_header_field_complete;
        s.on_header_value = on_header_value;
        s.on_header_value_complete = on_header_value_complete;
        s.on_headers_complete = on_headers_complete;
        s.on_body = on_body;
        s.on_message_complete = on_message_complete;
        return s;
    }();
    return table;
}

int ResponseParser::stop(Errc code, std::string message) noexcept {
    error_ = make_error(code, std::move(message));
    return -1;
}

int ResponseParser::charge_header_bytes(std::size_t length) noexcept {
    header_bytes_ += length;
    if (header_bytes_ <= max_header_bytes_) return 0;
    return stop(Errc::limit, "response headers exceed " + std::to_string(max_header_bytes_) + " bytes");
}

int ResponseParser::on_metadata(llhttp_t* parser, const char*, std::size_t length) noexcept {
    return self(parser).charge_header_bytes(length);
}

int ResponseParser::on_header_field(llhttp_t* parser, const char* at, std::size_t length) noexcept {
    auto& p = self(parser);
    if (p.charge_header_bytes(length) != 0) return -1;
    if (!p.headers_done_) p.field_.append(at, length);
    return 0;
}

int ResponseParser::on_header_field_complete(llhttp_t* parser) noexcept {
    auto& p = self(parser);
    // A repeated Content-Type is invalid (RFC 9110 §5.3); keep the first, as Node does.
    p.in_content_type_ = !p.headers_done_ && !p.content_type_seen_ && iequals(p.field_, "content-type");
    p.content_type_seen_ = p.content_type_seen_ || p.in_content_type_;
    p.in_cache_control_ = !p.headers_done_ && iequals(p.field_, "cache-control");
    if (p.in_cache_control_ && !p.cache_control_.empty()) p.cache_control_ += ',';  // one list (RFC 9110 §5.3)
    p.in_validator_ = nullptr;
    if (!p.headers_done_ && iequals(p.field_, "etag") && p.response_.etag.empty()) p.in_validator_ = &p.response_.etag;
    if (!p.headers_done_ && iequals(p.field_, "last-modified") && p.response_.last_modified.empty())
        p.in_validator_ = &p.response_.last_modified;
    p.field_.clear();
    return 0;
}

int ResponseParser::on_header_value(llhttp_t* parser, const char* at, std::size_t length) noexcept {
    auto& p = self(parser);
    if (p.charge_header_bytes(length) != 0) return -1;
    if (p.in_content_type_) p.response_.content_type.append(at, length);
    if (p.in_cache_control_) p.cache_control_.append(at, length);
    if (p.in_validator_ != nullptr) p.in_validator_->append(at, length);
    return 0;
}

int ResponseParser::on_header_value_complete(llhttp_t* parser) noexcept {
    auto& p = self(parser);
    if (p.in_content_type_) {
        auto& value = p.response_.content_type;
        value.erase(value.find_last_not_of(" \t") + 1);  // llhttp keeps trailing whitespace
    }
    if (p.in_validator_ != nullptr) p.in_validator_->erase(p.in_validator_->find_last_not_of(" \t") + 1);
    p.in_content_type_ = false;
    p.in_cache_control_ = false;
    p.in_validator_ = nullptr;
    return 0;
}

int ResponseParser::on_headers_complete(llhttp_t* parser) noexcept {
    auto& p = self(parser);
    const int status = llhttp_get_status_code(parser);
    if (status >= 100 && status < 200) {
        // An interim response (e.g. an unsolicited 100 Continue): llhttp gives it no body and
        // parses the final response next. Forget its headers.
        p.interim_ = true;
        p.content_type_seen_ = false;
        p.response_.content_type.clear();
        p.response_.etag.clear();
        p.response_.last_modified.clear();
        p.cache_control_.clear();
        return 0;
    }
    p.headers_done_ = true;
    p.response_.status = status;
    p.response_.max_age = cache_control_max_age(p.cache_control_);
    // A declared length over the cap fails now, before a byte of the body is read.
    if ((parser->flags & F_CONTENT_LENGTH) != 0 && parser->content_length > p.max_body_) {
        return p.stop(Errc::limit, "the response body (" + std::to_string(parser->content_length) +
                                       " bytes) exceeds " + std::to_string(p.max_body_) + " bytes");
    }
    // A declared length within the cap: its memory at once, so that the body is not copied
    // again at every doubling (reading a 20 MB CRL took 26 ms of the event loop with the
    // doublings, 10 ms without: perf/crl_swap --perf-record, 2026-12-07).
    if ((parser->flags & F_CONTENT_LENGTH) != 0) {
        try {
            p.response_.body.reserve(static_cast<std::size_t>(parser->content_length));
        } catch (const std::bad_alloc&) {
            return p.stop(Errc::limit, "no memory for a response body of " + std::to_string(parser->content_length) +
                                           " bytes");
        }
    }
    return 0;
}

int ResponseParser::on_body(llhttp_t* parser, const char* at, std::size_t length) noexcept {
    auto& p = self(parser);
    auto& body = p.response_.body;
    if (length > p.max_body_ - body.size()) {
        return p.stop(Errc::limit, "the response body exceeds " + std::to_string(p.max_body_) + " bytes");
    }
    try {
        // Grow geometrically, but never past the cap: the body's memory stays within max_body.
        const std::size_t needed = body.size() + length;
        if (needed > body.capacity()) {
            body.reserve(std::min(p.max_body_, std::max(needed, 2 * body.capacity())));
        }
        body.insert(body.end(), at, at + length);
    } catch (const std::bad_alloc&) {
        // The cap comes from configuration; a server must not be able to abort the process below it.
        const auto wanted = std::to_string(body.size() + length);
        return p.stop(Errc::limit, "no memory for a response body of " + wanted + " bytes");
    }
    return 0;
}

int ResponseParser::on_message_complete(llhttp_t* parser) noexcept {
    auto& p = self(parser);
    if (p.interim_) {
        p.interim_ = false;
        return 0;
    }
    p.complete_ = true;
    return HPE_PAUSED;  // one response is all we want: ignore whatever follows it
}

Result<ResponseParser::Progress> ResponseParser::progress_after(llhttp_errno_t status) {
    if (error_) return *error_;
    if (complete_) return Progress::complete;
    if (status == HPE_OK) return Progress::need_more;
    if (status == HPE_PAUSED_UPGRADE) return make_error(Errc::parse, "the server switched protocols");
    std::string message = std::string("malformed HTTP response: ") + llhttp_errno_name(status);
    if (const char* reason = llhttp_get_error_reason(&parser_)) message += std::string(" (") + reason + ")";
    return make_error(Errc::parse, std::move(message));
}

}  // namespace ocspgate::ocsp
