// The admin endpoint's address from a configuration file, for `ocspgate status`: only the
// [admin] table is read, so the command works for an operator who may read the config but
// not the private keys it names (load_file() would check those).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "base/result.h"

namespace ocspgate::conf {

// "127.0.0.1:9901" (the default for an empty [admin]), the listen value as written, nullopt
// when the file has no [admin] table (no endpoint), or an error (unreadable, not TOML, a bad
// listen value).
Result<std::optional<std::string>> read_admin_address(const std::filesystem::path& file);

}  // namespace ocspgate::conf
