// The three answers RFC 6960 §2.2 allows about one certificate; CRLs only ever give the first two.
#pragma once

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

}  // namespace ocspgate::ocsp
