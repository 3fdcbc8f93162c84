// The staplers of the listeners' own certificates ([listener.tls] stapling): one
// ocsp::OwnStapler per listener, on the main loop, kept across a reload for a listener whose
// certificate and responder did not change (its response goes into the new listener's slot at
// once), started for new ones and stopped for the others. Each attempt is logged once:
// own_staple_fetched (info), own_staple_failed (warning), own_certificate_revoked (error).
#pragma once

#include <uv.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ocsp/own_staple.h"
#include "proxy/core/runtime.h"
#include "proxy/metrics/text.h"

namespace ocspgate::proxy::staple {

class OwnStaples {
public:
    explicit OwnStaples(uv_loop_t* loop) : loop_(loop) {}

    // Start-up and every applied reload: the staplers `runtime`'s listeners need. A listener
    // whose responder URL cannot be parsed is logged and left without a staple.
    void apply(const Runtime& runtime);
    void close();

    struct Entry {
        std::string listener;
        std::string responder;
        ocsp::OwnStapleState state;
        std::uint64_t failures = 0;
    };
    std::vector<Entry> states() const;  // by listener name
    // ocspgate_own_staple_stapled{listener} (0/1), ocspgate_own_staple_status{listener,status}
    // (1 for the last answer's status: good, revoked, unknown, none),
    // ocspgate_own_staple_next_update_seconds{listener} (Unix seconds of the last answer's
    // nextUpdate) and ocspgate_own_staple_failures_total{listener}.
    void write_metrics(metrics::MetricsText& out) const;

private:
    struct Stapler {
        std::unique_ptr<ocsp::OwnStapler> stapler;
        std::string responder;
        std::uint64_t failures = 0;
    };
    uv_loop_t* loop_;
    // For the shared cache's connection on this loop ([cache.shared]); made on first use.
    std::unique_ptr<ocsp::Mailbox> mailbox_;
    // By listener name; each Stapler stays at one address (its stapler's report refers to it).
    std::map<std::string, std::unique_ptr<Stapler>> staplers_;
};

}  // namespace ocspgate::proxy::staple
