// `ocspgate status`: fetches /status from a running ocspgate's admin endpoint and prints tables
// an operator can scan, in the spirit of IOS `show crypto pki certificates` and `show crypto pki
// trustpoints status`: certificates by role with notAfter and days left, revocation profiles
// with their responders' health and cache counts, listeners with connection counts.
//
// This is a one-shot command, not an event loop, so its HTTP GET is a plain blocking socket
// with a deadline on every step.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ocspgate::proxy::admin {

struct AdminTarget {
    std::string host;  // a name or an IP address (IPv6 without brackets)
    std::uint16_t port = 0;
};

inline constexpr std::string_view kDefaultAdminAddress = "127.0.0.1:9901";

// "127.0.0.1:9901", "[::1]:9901", "localhost:9901".
Result<AdminTarget> parse_admin_target(std::string_view text);

// GET /status; the body when the answer is 200, else why not. Errc::unavailable (resolve,
// connect, reset), Errc::timeout, Errc::parse (not HTTP), Errc::limit (body over 16 MiB).
Result<std::string> fetch_status(const AdminTarget& target, std::chrono::milliseconds timeout);

// The tables for a /status document, or Errc::parse when it is not one.
Result<std::string> format_status(std::string_view json);

// The subcommand: `admin` ("" = from the config's [admin] when `config_path` is set, else the
// default address). Prints to stdout / stderr; returns the exit code.
int run_status_command(const std::string& admin, const std::string& config_path, bool raw_json);

}  // namespace ocspgate::proxy::admin
