// What the admin endpoint serves: /metrics (Prometheus text) and /status (JSON), built from
// the shared counters on the main thread. Reads relaxed atomics only (plus the status
// cache's size and the error-kind map, each under its own short lock); never touches a
// worker's loop.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "conf/config.h"
#include "ocsp/checker.h"
#include "proxy/worker.h"

namespace ocspgate::proxy {

using CheckerMap = std::map<std::string, std::unique_ptr<ocsp::Checker>>;

std::string render_metrics(const Shared& shared, const CheckerMap& checkers);
std::string render_status(const conf::Config& config, const Shared& shared, const CheckerMap& checkers);

}  // namespace ocspgate::proxy
