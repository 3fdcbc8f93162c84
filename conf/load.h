// Loading and validating the TOML configuration.
//
// Loading never stops at the first problem: it walks the whole document against the schema
// (conf/schema.h) and reports every problem it finds, each located at the TOML node it is
// about, so one run of `ocspgate --check-config` shows the operator everything to fix. A
// Config is returned only when there are no errors at all. Warnings, located the same way,
// name settings that load and run as written but weaken a check the operator probably relies
// on; they never stop a load.
//
// Loading reads the files the configuration names (certificates, keys, CA bundles, CRLs) to
// check that they parse and fit together, but never touches the network.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"

namespace ocspgate::conf {

enum class Severity { error, warning };

// One problem in a configuration file, located like a compiler error.
struct Diagnostic {
    std::string file;     // the configuration file, as it was named to load_file()/load_string()
    int line = 0;         // 1-based; 0 when the problem is about the file as a whole
    int column = 0;       // 1-based; 0 when line is 0
    std::string message;  // starts with the key path, e.g. "listener[0].tls.verify_client: ..."
    Severity severity = Severity::error;
};

// "FILE:LINE:COL: message", or "FILE: message" when the diagnostic has no position; a
// warning has "warning: " before the message, as compilers write it.
std::string format(const Diagnostic& diagnostic);

struct LoadResult {
    std::optional<Config> config;         // set if and only if diagnostics is empty
    std::vector<Diagnostic> diagnostics;  // the errors, in document order (line, then column)
    std::vector<Diagnostic> warnings;     // in document order; set whether or not config is
    bool ok() const { return config.has_value(); }
};

// Reads and validates `file`. Relative paths inside it resolve against its folder.
LoadResult load_file(const std::filesystem::path& file);

// Validates `toml_text` as if it had been read from `source`, which need not exist: it names
// the file in diagnostics, and relative paths resolve against its folder (made absolute
// against the current directory first).
LoadResult load_string(std::string_view toml_text, const std::filesystem::path& source);

// Parses a duration: a whole, non-negative number directly followed by one unit, ms, s, m,
// h or d ("250ms", "10s", "15m", "1h", "7d", "0s"). Signs, spaces, fractions, compound
// forms ("1h30m") and values above 36500d are rejected with nullopt; the cap keeps
// "now + duration" within a 64-bit nanosecond clock, so consumers need no overflow checks.
std::optional<Duration> parse_duration(std::string_view text);

// The inverse of parse_duration: the largest unit that expresses `d` exactly ("15m", not
// "900s"). `d` must not be negative.
std::string format_duration(Duration d);

// The version of the TOML parser compiled in (toml++), e.g. "3.3.0", for `ocspgate --version`.
std::string toml_library_version();

}  // namespace ocspgate::conf
