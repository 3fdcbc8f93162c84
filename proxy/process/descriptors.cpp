#include "proxy/process/descriptors.h"

#include <sys/resource.h>

#include <algorithm>

#include <fmt/format.h>

#include "proxy/log/log.h"

namespace ocspgate::proxy::process {

std::uint32_t connections_that_fit(std::uint64_t open_file_limit) {
    if (open_file_limit <= kReservedDescriptors + 2) return 1;
    std::uint64_t fit = (open_file_limit - kReservedDescriptors) / 2;
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(fit, UINT32_MAX));
}

std::uint64_t descriptors_needed(std::uint32_t max_connections) {
    return static_cast<std::uint64_t>(max_connections) * 2 + kReservedDescriptors;
}

std::uint32_t default_max_connections(std::uint64_t open_file_limit) {
    return std::min(kDefaultMaxConnections, connections_that_fit(open_file_limit));
}

std::uint64_t raise_open_file_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return UINT64_MAX;  // unknown: assume it fits
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    return limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<std::uint64_t>(limit.rlim_cur);
}

std::uint64_t open_file_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return UINT64_MAX;
    return static_cast<std::uint64_t>(limit.rlim_cur);
}

void settle_max_connections(conf::Server& server, std::uint64_t limit, bool log_default) {
    if (server.max_connections == 0) {
        server.max_connections = default_max_connections(limit);
        if (log_default)
            log::Record("max_connections")
                .field("value", static_cast<std::uint64_t>(server.max_connections))
                .field("open_file_limit", limit)
                .field("source", "default, fitted to the open-file limit")
                .emit(conf::LogLevel::info);
        return;
    }
    std::uint64_t needed = descriptors_needed(server.max_connections);
    if (needed <= limit) return;
    log::Record("warning")
        .field("text", fmt::format("max_connections = {} needs {} open files, but the open-file limit is {}: set "
                                   "[server] max_connections = {} (or leave it out), or raise the limit to {} "
                                   "(LimitNOFILE= in the systemd unit, ulimit -n)",
                                   server.max_connections, needed, limit, connections_that_fit(limit), needed))
        .field("max_connections", static_cast<std::uint64_t>(server.max_connections))
        .field("limit", limit)
        .field("needed", needed)
        .emit(conf::LogLevel::warn);
}

}  // namespace ocspgate::proxy::process
