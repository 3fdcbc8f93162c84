// The three answers RFC 6960 §2.2 allows about one certificate; CRLs only ever give the first two.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace ocspgate::ocsp {

//   CertStatus ::= CHOICE {
//       good        [0]     IMPLICIT NULL,
//       revoked     [1]     IMPLICIT RevokedInfo,
//       unknown     [2]     IMPLICIT UnknownInfo }
enum class CertStatus { good, revoked, unknown };

constexpr const char* to_string(CertStatus status) noexcept {
    switch (status) {
        case CertStatus::good: return "good";
        case CertStatus::revoked: return "revoked";
        case CertStatus::unknown: return "unknown";
    }
    return "invalid";
}

// A method that failed because of how it (or its responder) is set up, not because of the
// moment: an unauthorised OCSP signer, a responder refusing us. Reported once per responder
// and kind (RevocationChecker), so operators see it even when a later method decides.
struct ConfigProblem {
    std::string responder;  // the URL
    std::string kind;       // the responder error kind, e.g. "unauthorized_signer"
    std::string message;
};

// What a revoked answer says beyond "revoked": RevokedInfo (RFC 6960 §4.2.1) or a CRL entry
// (RFC 5280 §5.3.1), for the log line of the refusal.
struct RevokedInfo {
    std::optional<std::chrono::system_clock::time_point> time;  // revocationTime / revocationDate
    int reason = -1;                                            // CRLReason; -1 when not given
};

//   CRLReason ::= ENUMERATED { unspecified (0), keyCompromise (1), cACompromise (2),
//       affiliationChanged (3), superseded (4), cessationOfOperation (5), certificateHold (6),
//       -- value 7 is not used
//       removeFromCRL (8), privilegeWithdrawn (9), aACompromise (10) }
// The RFC's word for `code`; "unspecified" when none was given (-1); null for a value the RFC
// does not define (logged as its number).
constexpr const char* crl_reason_name(int code) noexcept {
    constexpr const char* names[] = {"unspecified",  "keyCompromise",        "cACompromise",    "affiliationChanged",
                                     "superseded",   "cessationOfOperation", "certificateHold", nullptr,
                                     "removeFromCRL", "privilegeWithdrawn",  "aACompromise"};
    if (code == -1) return "unspecified";
    if (code < 0 || code >= static_cast<int>(sizeof names / sizeof names[0])) return nullptr;
    return names[code];
}

}  // namespace ocspgate::ocsp
