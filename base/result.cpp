#include "base/result.h"

namespace ocspgate {

const char* to_string(Errc code) noexcept {
    switch (code) {
        case Errc::invalid_argument: return "invalid argument";
        case Errc::config: return "configuration error";
        case Errc::io: return "I/O error";
        case Errc::tls: return "TLS error";
        case Errc::parse: return "malformed input";
        case Errc::timeout: return "timeout";
        case Errc::limit: return "limit exceeded";
        case Errc::verify: return "verification failed";
        case Errc::unavailable: return "unavailable";
        case Errc::cancelled: return "cancelled";
    }
    return "unknown error";
}

}  // namespace ocspgate
