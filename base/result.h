// The project's one error vocabulary: every fallible function returns Result<T>.
//
// base/ is the lowest layer: every component links it. Exceptions never cross a libuv or
// OpenSSL callback; errors travel as values.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace ocspgate {

enum class Errc {
    invalid_argument,  // caller passed something malformed
    config,            // configuration is wrong
    io,                // file or socket I/O failed (libuv / errno)
    tls,               // OpenSSL reported an error
    parse,             // malformed input from outside (DER, HTTP, SIP, BER)
    timeout,           // a deadline passed
    limit,             // a configured bound was exceeded
    verify,            // a signature, chain or policy check failed
    unavailable,       // the remote side could not be reached or refused
    cancelled,         // the requester went away
};

const char* to_string(Errc code) noexcept;

struct Error {
    Errc code;
    std::string message;  // full sentence for logs; no key material
};

// A minimal std::expected stand-in (C++23 is not available with g++ 12 in C++20 mode).
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
    Result(Error error) : v_(std::move(error)) {}    // NOLINT: implicit by design

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & { assert(ok()); return std::get<0>(v_); }
    const T& value() const& { assert(ok()); return std::get<0>(v_); }
    T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
    Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

private:
    std::variant<T, Error> v_;
};

struct Ok {};  // value type of Result for operations that return nothing

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace ocspgate
