// Why a connection whose client was accepted could not be served by its backend. Such a
// connection is its own outcome (decision `backend_failed`, docs/ARCHITECTURE.md
// "Vocabulary"): logged at warning, counted apart from `accept` under one of these reasons,
// so that alerting on the connections metric sees a dead backend.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace ocspgate::proxy {

enum class BackendFailure : std::size_t {
    unreachable,  // the TCP connect failed (refused, no route, ...)
    timeout,      // no connection (with backend_tls: no backend handshake) within connect_timeout
    closed,       // the backend closed before sending a byte, or reset or failed a write at any time
    tls,          // the backend's TLS handshake failed or its certificate was refused
};

inline constexpr std::size_t kBackendFailureCount = 4;

// The metrics label `reason` and the status page's keys; one word each, prefixed so that they
// never collide with a refusal's reasons on the same label.
constexpr std::string_view backend_failure_name(BackendFailure failure) {
    constexpr std::array<std::string_view, kBackendFailureCount> names = {
        "backend_unreachable", "backend_timeout", "backend_closed", "backend_tls"};
    return names[static_cast<std::size_t>(failure)];
}

}  // namespace ocspgate::proxy
