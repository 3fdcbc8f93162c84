#include "proxy/process/version.h"

#include <llhttp.h>
#include <openssl/crypto.h>
#include <uv.h>

#include <fmt/format.h>

#include "conf/load.h"

namespace ocspgate::proxy::process {

std::string version_text(const std::string& ocspgate_version) {
    return fmt::format("ocspgate {}\n{}\nlibuv {}\nllhttp {}.{}.{}\ntoml++ {}", ocspgate_version,
                       OpenSSL_version(OPENSSL_VERSION), uv_version_string(), LLHTTP_VERSION_MAJOR,
                       LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH, conf::toml_library_version());
}

}  // namespace ocspgate::proxy::process
