// One OCSP exchange for one certificate: build the request, ask each responder in turn
// (next one on any failure), validate the answer, report once. Self-contained like nginx's
// ngx_ssl_ocsp_ctx_t: its own request, deadline per attempt, "next responder" step, one
// completion callback and one teardown. It owns itself and is freed after the callback.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ocsp/budget.h"
#include "ocsp/cert_status.h"
#include "ocsp/settings.h"
#include "ocsp/get_fallback.h"
#include "ocsp/mailbox.h"
#include "ocsp/response.h"
#include "ocsp/url.h"
#include "tls/ossl.h"

namespace ocspgate::ocsp {

// A responder that answered a GET with HTTP 4xx or malformedRequest; the lookup went on by
// POST to the same responder at once (see ocsp/get_fallback.h).
struct GetRefusal {
    std::string responder;  // its URL
    std::string reason;     // "HTTP status 400", "malformedRequest"
    bool newly_known = false;  // it was not known to refuse GET before: worth one log line
};

struct QueryResult {
    bool answered = false;      // a valid answer arrived (see answer); else see errors
    Answer answer;
    std::string source;         // the responder URL that answered
    std::vector<std::uint8_t> der;  // answered: the OCSPResponse exactly as signed (for the shared cache)
    // The answering HTTP response's Cache-Control max-age (see HttpResponse::max_age): an
    // upper bound on how long the answer may be cached (RFC 5019 §6.2). nullopt: none given.
    std::optional<std::chrono::seconds> http_max_age;
    std::string errors;         // "URL: what failed; URL: ..." for every failed attempt
    std::vector<std::string> error_kinds;  // one short kind per failed attempt, for counters
    std::vector<std::string> failed_responders;  // the URL of each failed attempt ("-": none), as error_kinds
    std::vector<std::chrono::steady_clock::time_point> failed_at;  // when each failed attempt ended, as error_kinds
    std::chrono::steady_clock::time_point answered_at{};  // when the answer arrived (answered)
    std::vector<GetRefusal> get_refusals;
    // Responders whose response lacked the nonce we sent, whether it was then accepted
    // (answer.nonce == NonceEcho::missing) or refused (error kind nonce_missing).
    std::vector<std::string> nonce_missing_from;
    // Attempts that failed for a configuration reason (kinds: is_config_problem()).
    std::vector<ConfigProblem> config_problems;
    std::chrono::microseconds latency{0};
};

struct QueryInput {
    tls::X509Ptr cert;
    tls::X509Ptr issuer;
    std::vector<Url> responders;             // in the order to try
    std::vector<X509*> trusted_responders;   // owned by the Checker, outlives the query
    SSL_CTX* https_context = nullptr;        // owned by the Checker, for https:// responders
    ResponderCache* responder_cache = nullptr;  // owned by the Checker, outlives the query
    // Owned by the Checker, outlives the query; null: GET refusals are not remembered.
    GetFallback* get_fallback = nullptr;
    // The attempts end by then: each gets min(timeout, time left / attempts left), and those
    // left no time are skipped (a handshake's share of its budget, ocsp/budget.h).
    Deadline deadline = no_deadline;
    std::optional<Url> http_proxy;  // the profile's http_proxy; none: direct
};

using QueryCallback = std::function<void(QueryResult)>;

// Validates a response that was not fetched for this request (the shared cache's bytes)
// exactly as a query validates a responder's answer, except that no nonce was sent: signer
// authorisation, CertID match, critical extensions, freshness and max_response_age apply.
Validation validate_stored_response(std::span<const std::uint8_t> der, const QueryInput& input,
                                    const OcspSettings& settings, const CertId& id);

// True for the error kinds that a retry will not cure: the responder's signer is not
// authorised for the certificate (or not trusted), the responder refuses us (unauthorized,
// sigRequired), or TLS to an https responder failed (tls: its certificate is not trusted by
// tls_ca, ...). Timeouts, transport errors and stale answers are not.
bool is_config_problem(std::string_view kind) noexcept;

// With settings.request == get, a responder is asked by GET unless `get_fallback` knows it
// refuses GET or the request would not fit in a GET (RFC 5019 §5); a GET answered with HTTP
// 4xx or malformedRequest is asked again by POST at once, and the refusal recorded.
//
// Starts the exchange on `home`'s loop; `done` runs exactly once on that loop (never from
// inside this call). If the loop shuts down first (home.close()), the exchange is aborted
// and `done` reports the shutdown as an error.
void start_ocsp_query(Mailbox& home, QueryInput input, const OcspSettings& settings, QueryCallback done);

}  // namespace ocspgate::ocsp
