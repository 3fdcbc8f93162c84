// Internal to conf/: quoting values inside diagnostics and the reference.
#pragma once

#include <string>
#include <string_view>

namespace ocspgate::conf {

// `text` as a TOML basic string literal: in double quotes, with '"', '\' and control
// characters escaped, so that a diagnostic shows exactly what was written.
std::string quote(std::string_view text);

}  // namespace ocspgate::conf
