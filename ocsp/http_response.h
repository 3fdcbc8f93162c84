// The OCSP and CRL client's HTTP/1.x response parser: llhttp driven over whatever bytes the
// transport delivers, with the client's bounds on headers and body. No I/O here, so the fuzz
// target (tests/fuzz/fuzz_http_response.cpp) drives exactly the code the client runs.
//
// What it accepts: one response, framed by Content-Length, chunked encoding or the server
// closing the stream; interim 1xx responses are skipped; bytes after the response are ignored.
#pragma once

#include <llhttp.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace ocspgate::ocsp {

// Any status the server sent, 4xx and 5xx included: what a status means is the caller's
// business. The body is capped by the parser's max_body whatever the status.
struct HttpResponse {
    int status = 0;
    std::string content_type;         // as sent, parameters included; empty if absent
    std::vector<std::uint8_t> body;   // decoded (de-chunked)
    // How long the server lets the response be cached (Cache-Control, RFC 9111 §5.2.2): the
    // smallest max-age, zero for no-cache, no-store or an invalid max-age (RFC 9111 §4.2.1:
    // invalid freshness is stale); nullopt when the final response's headers say neither.
    // An OCSP client takes it as an upper bound on its own caching (RFC 5019 §6.2).
    std::optional<std::chrono::seconds> max_age;
    // The validators of the body (RFC 9110 §8.8), as sent, for a conditional request that
    // fetches it again only when it changed (a CRL client's refresh); empty if absent.
    std::string etag;
    std::string last_modified;
};

// The max_age above for the value of one Cache-Control header (or several, comma-joined).
std::optional<std::chrono::seconds> cache_control_max_age(std::string_view value) noexcept;

// Errors: Errc::limit when the headers (reason phrase, header names and values, trailers and
// chunk extensions together) exceed max_header_bytes or the body exceeds max_body; Errc::parse
// when the bytes are not HTTP/1.x or the server switched protocols.
class ResponseParser {
public:
    enum class Progress { need_more, complete };

    ResponseParser(std::size_t max_body, std::size_t max_header_bytes) noexcept
        : max_body_(max_body), max_header_bytes_(max_header_bytes) {
        llhttp_init(&parser_, HTTP_RESPONSE, &settings());
        parser_.data = this;
    }
    ResponseParser(const ResponseParser&) = delete;  // parser_.data points at this object
    ResponseParser& operator=(const ResponseParser&) = delete;

    // Parses the next bytes of the stream. After `complete` or an error, feed no more.
    Result<Progress> feed(std::span<const std::uint8_t> bytes) {
        if (bytes.empty()) return Progress::need_more;
        return progress_after(
            llhttp_execute(&parser_, reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    }

    // The server closed the stream: completes a close-delimited body. `need_more` here means
    // the response was cut short (or never started).
    Result<Progress> finish_at_eof() {
        const auto status = llhttp_finish(&parser_);
        // Not malformed, merely cut short: the caller reports the closed connection.
        if (status == HPE_INVALID_EOF_STATE && !error_) return Progress::need_more;
        return progress_after(status);
    }

    HttpResponse take() { return std::move(response_); }

private:
    static ResponseParser& self(llhttp_t* parser) noexcept {
        return *static_cast<ResponseParser*>(parser->data);
    }
    static const llhttp_settings_t& settings() noexcept;

    static int on_metadata(llhttp_t* parser, const char*, std::size_t length) noexcept;
    static int on_header_field(llhttp_t* parser, const char* at, std::size_t length) noexcept;
    static int on_header_field_complete(llhttp_t* parser) noexcept;
    static int on_header_value(llhttp_t* parser, const char* at, std::size_t length) noexcept;
    static int on_header_value_complete(llhttp_t* parser) noexcept;
    static int on_headers_complete(llhttp_t* parser) noexcept;
    static int on_body(llhttp_t* parser, const char* at, std::size_t length) noexcept;
    static int on_message_complete(llhttp_t* parser) noexcept;

    // Callbacks stop llhttp by recording why and returning -1; progress_after() reports it.
    int stop(Errc code, std::string message) noexcept;
    int charge_header_bytes(std::size_t length) noexcept;
    Result<Progress> progress_after(llhttp_errno_t status);

    llhttp_t parser_{};
    const std::size_t max_body_;
    const std::size_t max_header_bytes_;
    std::size_t header_bytes_ = 0;     // all metadata so far, interim responses and trailers included
    std::string field_;                // the header name being read; bounded by max_header_bytes_
    bool in_content_type_ = false;     // the value being read is the (first) Content-Type
    bool content_type_seen_ = false;
    bool in_cache_control_ = false;    // the value being read is a Cache-Control
    std::string* in_validator_ = nullptr;  // the (first) ETag or Last-Modified being read
    std::string cache_control_;        // every Cache-Control value, comma-joined
    bool headers_done_ = false;        // the final response's headers are complete: trailers follow
    bool interim_ = false;             // parsing a 1xx response, which is skipped
    bool complete_ = false;
    std::optional<Error> error_;
    HttpResponse response_;
};

}  // namespace ocspgate::ocsp
