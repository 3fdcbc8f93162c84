// HTTP/1.1 transport for the OCSP and CRL client: one request, one response, on a libuv loop
// that must never block.
//
// Each call to start_fetch() creates one self-contained exchange (after nginx's
// ngx_ssl_ocsp_ctx_t): its own socket, buffers and deadline, one completion callback and one
// teardown. Host names are resolved with uv_getaddrinfo on libuv's threadpool; numeric
// addresses skip the resolver. The response is parsed with llhttp (ResponseParser in
// ocsp/http_response.h), so Content-Length, chunked and close-delimited bodies all work;
// interim 1xx responses are skipped.
//
// Between the socket and the HTTP parser sits a byte-stream seam (plain TCP today) where TLS
// over memory BIOs slots in for https:// responders; see Transport in http_fetch.cpp.
//
// Threading: everything here runs on the thread that runs `loop`.
#pragma once

#include <openssl/ssl.h>
#include <uv.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ocsp/http_response.h"
#include "ocsp/url.h"
#include "base/result.h"

namespace ocspgate::ocsp {

struct HttpRequest {
    enum class Method { get, post };
    Method method = Method::post;
    Url url;
    std::string content_type;         // POST only, e.g. "application/ocsp-request"
    std::vector<std::uint8_t> body;   // POST only; a GET carries its request in url.path
    SSL_CTX* tls_context = nullptr;   // https only: client context (trust, client certificate);
                                      // must outlive the fetch
    // Optional, like curl's --resolve: connect to these (IPv4 or IPv6, port included) instead
    // of resolving url.host, which still names the Host header. Tried in order, as resolved
    // addresses are; at most the first 8 are used.
    std::vector<sockaddr_storage> connect_to;
    // Optional: an HTTP proxy ("http://HOST:PORT") to go through. An http:// request is sent
    // to it in absolute form ("GET http://host/path"); for https:// it is asked to CONNECT to
    // the URL's host and port first, and TLS (verified against url.host) runs inside the
    // tunnel. connect_to, when set, then names the proxy's addresses.
    std::optional<Url> proxy;
    // A conditional GET (RFC 9110 §13.1.1, §13.1.3): the validators of the copy held, as the
    // server sent them; the server answers 304 with no body when that copy is still its
    // current one. Empty: unconditional.
    std::string if_none_match;
    std::string if_modified_since;
};

// Bounds on one exchange. Defaults are placeholders: callers pass their configured values.
struct FetchLimits {
    std::chrono::milliseconds timeout{5000};  // one deadline over resolve + connect + send + receive
    std::size_t max_body = 1024 * 1024;       // decoded body bytes
    // The reason phrase, header names and values, trailers and chunk extensions, together.
    std::size_t max_header_bytes = 16 * 1024;
};

// The completion. Outcomes:
//   HttpResponse            a complete response arrived (any status);
//   Errc::timeout           the deadline passed first;
//   Errc::limit             the body or the headers exceeded FetchLimits (reading stops at once);
//   Errc::unavailable       resolving or connecting failed, or the connection was reset or closed
//                           before a complete response (the message names the libuv error);
//   Errc::parse             the server's bytes are not HTTP/1.x.
// Error messages do not repeat the URL: the caller, which knows it, names it once.
// It runs on the loop thread, never inside start_fetch(), after the exchange's socket and timer
// are closed. It must not throw: it is called from a noexcept libuv callback.
using FetchCallback = std::function<void(Result<HttpResponse>)>;

class Fetch;  // the exchange; defined in http_fetch.cpp

// The requester's cancel token for one exchange (move-only). The exchange never holds a
// pointer to the requester, only to this handle, and the two unlink when either side ends.
//
// Destroying the handle cancels the exchange: an owner that goes away takes its pending fetch
// with it, so the callback can never reach a dead object. Keep the handle for as long as the
// answer is wanted. The handle must not outlive the loop.
class [[nodiscard]] FetchHandle {
public:
    FetchHandle() noexcept = default;
    FetchHandle(FetchHandle&& other) noexcept;
    FetchHandle& operator=(FetchHandle&& other) noexcept;  // cancels the fetch this one held
    FetchHandle(const FetchHandle&) = delete;
    FetchHandle& operator=(const FetchHandle&) = delete;
    ~FetchHandle();

    // After cancel() returns, the callback will not run; safe at any time from the loop thread,
    // including from inside any fetch's callback and on an empty or finished handle. The
    // exchange's memory is freed by the loop later, once its handles have closed (and any
    // uv_getaddrinfo in flight has returned), so keep running the loop.
    void cancel() noexcept;

    // True until the callback has been called or the fetch was cancelled.
    bool pending() const noexcept { return fetch_ != nullptr; }

private:
    friend class Fetch;
    explicit FetchHandle(Fetch* fetch) noexcept;

    Fetch* fetch_ = nullptr;  // kept in sync by Fetch; null once unlinked
};

// Starts one exchange on `loop`. Misuse fails at once, and the callback is then never called:
// Errc::invalid_argument for a null loop or callback, a non-positive timeout or max_body, a
// URL that parse_url() would reject, a GET with a body, a content type with control characters,
// or (for now) an https:// URL. Every other failure arrives through `done`.
Result<FetchHandle> start_fetch(uv_loop_t* loop, HttpRequest request, FetchLimits limits,
                                FetchCallback done);

}  // namespace ocspgate::ocsp
