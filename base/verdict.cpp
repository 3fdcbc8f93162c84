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

}  // namespace ocspgate
