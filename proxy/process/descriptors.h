// The open-file limit and max_connections: a proxied connection holds two descriptors
// (client and backend), and the process needs some more for listeners (one per listener and
// worker), responders, CRL downloads, the admin endpoint, mail and logs.
//
// At start the soft limit is raised to the hard one. An unset max_connections becomes the
// most that fits under it (never more than kDefaultMaxConnections), so stock settings start
// without a warning on a machine whose limit is low; a configured value that does not fit is
// kept, with a warning that names the value that fits and the limit to raise instead.
#pragma once

#include <cstdint>

#include "conf/config.h"

namespace ocspgate::proxy::process {

// Descriptors kept for everything but proxied connections.
constexpr std::uint64_t kReservedDescriptors = 256;
// The default when the open-file limit allows it.
constexpr std::uint32_t kDefaultMaxConnections = 10000;

// Connections whose two descriptors each fit under `open_file_limit` beside the reserve (at
// least 1).
std::uint32_t connections_that_fit(std::uint64_t open_file_limit);
// Descriptors `max_connections` connections need, reserve included.
std::uint64_t descriptors_needed(std::uint32_t max_connections);
// max_connections when the configuration leaves it unset.
std::uint32_t default_max_connections(std::uint64_t open_file_limit);

// Raises the soft open-file limit to the hard limit; returns the limit now in force.
std::uint64_t raise_open_file_limit();
// The open-file limit in force (for a reload, after raise_open_file_limit ran at start).
std::uint64_t open_file_limit();

// Sets an unset server.max_connections from `open_file_limit` (logging the value chosen at
// info with `log_default`: at start-up, not on every reload); warns when a configured value
// does not fit, naming the value that does.
void settle_max_connections(conf::Server& server, std::uint64_t open_file_limit, bool log_default);

}  // namespace ocspgate::proxy::process
