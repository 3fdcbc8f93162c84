// The admin endpoint's request parser: llhttp over the bytes of one connection, bounded by
// max_request_size. No I/O here, so the fuzz target (tests/fuzz/fuzz_admin_request.cpp) drives
// exactly the code the admin server runs.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace ocspgate::proxy::admin {

class AdminRequestParser {
public:
    // need_more: keep feeding; complete: method() and path() are set (bytes after the first
    // request are ignored); too_large: the bytes so far exceed max_request_size (answer 413);
    // malformed: not an HTTP/1.x request (answer 400). After anything but need_more, feed no more.
    enum class Outcome { need_more, complete, too_large, malformed };

    explicit AdminRequestParser(std::size_t max_request_size) noexcept;
    AdminRequestParser(const AdminRequestParser&) = delete;  // parser_.data points at this object
    AdminRequestParser& operator=(const AdminRequestParser&) = delete;

    Outcome feed(std::span<const char> bytes) noexcept;

    std::string_view method() const noexcept;
    // The request target without its query; only meaningful after `complete`.
    std::string_view path() const noexcept;

private:
    static int on_url(llhttp_t* parser, const char* at, std::size_t length) noexcept;
    static int on_message_complete(llhttp_t* parser) noexcept;

    const std::size_t max_request_size_;
    llhttp_settings_t settings_{};
    llhttp_t parser_{};
    std::size_t received_ = 0;
    bool complete_ = false;
    std::string url_;  // bounded by max_request_size_: every byte of it was counted in received_
};

}  // namespace ocspgate::proxy::admin
