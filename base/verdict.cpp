#include "base/verdict.h"

namespace ocspgate {

const char* to_string(ChainVerdict verdict) noexcept {
    switch (verdict) {
        case ChainVerdict::accept: return "accept";
        case ChainVerdict::revoked: return "revoked";
        case ChainVerdict::unknown: return "unknown";
        case ChainVerdict::undetermined: return "undetermined";
    }
    return "undetermined";
}

const char* to_string(RefusalReason reason) noexcept {
    switch (reason) {
        case RefusalReason::revoked: return "revoked";
        case RefusalReason::unknown: return "unknown";
        case RefusalReason::undetermined: return "undetermined";
        case RefusalReason::expired: return "expired";
        case RefusalReason::not_yet_valid: return "not_yet_valid";
        case RefusalReason::untrusted: return "untrusted";
        case RefusalReason::bad_certificate: return "bad_certificate";
        case RefusalReason::no_certificate: return "no_certificate";
        case RefusalReason::handshake_failed: return "handshake_failed";
        case RefusalReason::handshake_timeout: return "handshake_timeout";
        case RefusalReason::client_closed: return "client_closed";
        case RefusalReason::protocol: return "protocol";
        case RefusalReason::proxy_header: return "proxy_header";
        case RefusalReason::limit: return "limit";
        case RefusalReason::count_: break;
    }
    return "handshake_failed";
}

RefusalReason refusal_for(ChainVerdict verdict) noexcept {
    switch (verdict) {
        case ChainVerdict::revoked: return RefusalReason::revoked;
        case ChainVerdict::unknown: return RefusalReason::unknown;
        case ChainVerdict::accept:  // not a refusal; callers ask only about refusals
        case ChainVerdict::undetermined: break;
    }
    return RefusalReason::undetermined;
}

}  // namespace ocspgate
