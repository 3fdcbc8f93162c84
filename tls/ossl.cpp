#include "tls/ossl.h"

#include <openssl/err.h>

namespace ocspgate::tls {

std::string drain_errors(const std::string& context) {
    std::string out = context;
    const char* sep = ": ";
    char buf[256];
    while (unsigned long e = ERR_get_error()) {
        ERR_error_string_n(e, buf, sizeof buf);
        out += sep;
        out += buf;
        sep = "; ";
    }
    return out;
}

}  // namespace ocspgate::tls
