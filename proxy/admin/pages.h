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
#include "proxy/expiry/monitor.h"
#include "proxy/core/runtime.h"
#include "proxy/core/worker.h"
#include "proxy/staple/own_staples.h"

namespace ocspgate::proxy::admin {

// Both describe the Runtime in force (the one new connections get), and the certificates the
// expiry monitor watches (`expiry` null: the monitor is off).
// `staples`: the listeners' own OCSP staples (null: none).
std::string render_metrics(const Runtime& runtime, const Shared& shared, const expiry::ExpiryMonitor* expiry = nullptr,
                           const staple::OwnStaples* staples = nullptr);
std::string render_status(const Runtime& runtime, const Shared& shared, const expiry::ExpiryMonitor* expiry = nullptr);

}  // namespace ocspgate::proxy::admin
