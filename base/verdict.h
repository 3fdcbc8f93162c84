// The words for a revocation outcome, one vocabulary for logs, metrics, `ocspgate status` and
// the docs (docs/ARCHITECTURE.md, "Vocabulary"). Every place that prints an outcome gets its
// word from here, so a word never changes in one place only.
#pragma once

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

}  // namespace ocspgate
