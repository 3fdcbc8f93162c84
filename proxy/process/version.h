// What `ocspgate --version` prints: ocspgate's version and the versions of the libraries it
// runs with (OpenSSL and libuv as loaded at run time, llhttp and toml++ as compiled in).
#pragma once

#include <string>

namespace ocspgate::proxy::process {

std::string version_text(const std::string& ocspgate_version);

}  // namespace ocspgate::proxy::process
