// The certificates a configuration names (listener certificates and chains, client_ca,
// backend_ca, responder trust and TLS files), as the expiry monitor watches them. Collected
// with the rest of a Runtime (proxy/core/runtime.h), so a reload reads the files on the thread
// pool, never on the main loop.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "conf/config.h"

namespace ocspgate::proxy::expiry {

struct WatchedCertificate {
    std::string role;   // listener, listener_chain, client_ca, backend_ca, responder_trust,
                        // responder_tls_ca, responder_client, peer
    std::string where;  // "listener sip-tls: /etc/ocspgate/server.pem", "revocation corp: ...", "handshake"
    std::string subject;
    std::string issuer;
    std::string serial;
    std::string fingerprint;
    std::chrono::system_clock::time_point not_after;
};

// Everything the configuration names, deduplicated by role and fingerprint, in config order.
// Files that cannot be read are skipped with a log line (they were valid when loaded).
std::vector<WatchedCertificate> configured_certificates(const conf::Config& config);

}  // namespace ocspgate::proxy::expiry
