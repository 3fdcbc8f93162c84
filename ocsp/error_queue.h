// Scoped hygiene for OpenSSL's per-thread error queue inside the revocation cores.
#pragma once

#include "tls/ossl.h"

namespace ocspgate::ocsp {

// Clears the queue on entry and on exit. Validation makes OpenSSL push errors for checks
// that fail on purpose (a bad signature is a verdict to us, not a fault); none of them may
// leak into the caller's next SSL_get_error() on this thread.
class ErrorQueueScope {
public:
    ErrorQueueScope() noexcept { tls::clear_errors(); }
    ~ErrorQueueScope() { tls::clear_errors(); }
    ErrorQueueScope(const ErrorQueueScope&) = delete;
    ErrorQueueScope& operator=(const ErrorQueueScope&) = delete;
};

}  // namespace ocspgate::ocsp
