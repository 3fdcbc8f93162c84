// The words for a revocation outcome, one vocabulary for logs, metrics, `ocspgate status` and
// the docs (docs/ARCHITECTURE.md, "Vocabulary"). Every place that prints an outcome gets its
// word from here, so a word never changes in one place only.
#pragma once

#include <cstddef>

namespace ocspgate {

// What the revocation policy concluded about a chain that OpenSSL has verified; the TLS alert
// a refusal sends. Metrics label `verdict`.
enum class ChainVerdict {
    accept,
    revoked,       // a method said revoked -> certificate_revoked alert (44)
    unknown,       // the responder does not know the certificate and policy rejects -> certificate_unknown (46)
    undetermined,  // no method gave an answer (all failed or timed out): fail closed -> certificate_unknown (46)
};

// "accept", "revoked", "unknown", "undetermined".
const char* to_string(ChainVerdict verdict) noexcept;

// What one method said about one certificate: the log field `revocation`.
namespace cert_status {
inline constexpr const char* good = "good";
inline constexpr const char* revoked = "revoked";
inline constexpr const char* unknown = "unknown";
inline constexpr const char* undetermined = "undetermined";  // the method gave no answer
inline constexpr const char* unchecked = "unchecked";        // method "none": accepted unchecked
}  // namespace cert_status

// Why a client connection was refused: the metrics label `reason` of
// ocspgate_connections_total{decision="reject"} and the close line's field `refusal`. A closed
// set, so the label stays bounded whatever peers send; never free text. To add one, add it
// before `count_` and give it its word in to_string() (verdict.cpp) and in
// docs/ARCHITECTURE.md, "Vocabulary"; metrics pick it up on their own.
enum class RefusalReason {
    revoked,            // the revocation verdict (ChainVerdict) ...
    unknown,
    undetermined,       // ... when it refused the chain
    expired,            // the client certificate (or one in its chain) is past notAfter
    not_yet_valid,      // before notBefore
    untrusted,          // no chain to a configured CA
    bad_certificate,    // any other verification failure (purpose, signature, ...)
    no_certificate,     // the client sent none
    handshake_failed,   // TLS itself failed (protocol version, cipher, garbage)
    handshake_timeout,  // handshake_timeout passed, revocation check pending or not
    client_closed,      // the client went away before the handshake was done
    protocol,           // refused by the front before TLS (e.g. LDAP without StartTLS)
    proxy_header,       // the PROXY v2 header cannot describe the client
    limit,              // refused by a limit (max_connections) or ended by a drain
    count_              // not a reason: the number of reasons
};
inline constexpr std::size_t kRefusalReasons = static_cast<std::size_t>(RefusalReason::count_);

// "revoked", "no_certificate", "handshake_timeout", ...: lower case, words joined by '_'.
const char* to_string(RefusalReason reason) noexcept;

// The refusal a chain verdict other than accept means.
RefusalReason refusal_for(ChainVerdict verdict) noexcept;

}  // namespace ocspgate
