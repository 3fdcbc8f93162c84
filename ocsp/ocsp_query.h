// One OCSP exchange for one certificate: build the request, ask each responder in turn
// (next one on any failure), validate the answer, report once. Self-contained like nginx's
// ngx_ssl_ocsp_ctx_t: its own request, deadline per attempt, "next responder" step, one
// completion callback and one teardown. It owns itself and is freed after the callback.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "ocsp/settings.h"
#include "ocsp/mailbox.h"
#include "ocsp/response.h"
#include "ocsp/url.h"
#include "tls/ossl.h"

namespace ocspgate::ocsp {

struct QueryResult {
    bool answered = false;      // a valid answer arrived (see answer); else see errors
    Answer answer;
    std::string source;         // the responder URL that answered
    std::string errors;         // "URL: what failed; URL: ..." for every failed attempt
    std::vector<std::string> error_kinds;  // one short kind per failed attempt, for counters
    // Responders whose response lacked the nonce we sent, whether it was then accepted
    // (answer.nonce == NonceEcho::missing) or refused (error kind nonce_missing).
    std::vector<std::string> nonce_missing_from;
    std::chrono::microseconds latency{0};
};

struct QueryInput {
    tls::X509Ptr cert;
    tls::X509Ptr issuer;
    std::vector<Url> responders;             // in the order to try
    std::vector<X509*> trusted_responders;   // owned by the Checker, outlives the query
    SSL_CTX* https_context = nullptr;        // owned by the Checker, for https:// responders
    ResponderCache* responder_cache = nullptr;  // owned by the Checker, outlives the query
};

using QueryCallback = std::function<void(QueryResult)>;

// Starts the exchange on `home`'s loop; `done` runs exactly once on that loop (never from
// inside this call). If the loop shuts down first (home.close()), the exchange is aborted
// and `done` reports the shutdown as an error.
void start_ocsp_query(Mailbox& home, QueryInput input, const OcspSettings& settings, QueryCallback done);

}  // namespace ocspgate::ocsp
