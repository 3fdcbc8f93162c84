// What one configuration builds: TLS contexts, revocation checkers and the settings each
// listener's connections use. Immutable once built.
//
// Workers, listeners and connections hold it (or one ListenerSettings of it) through
// shared_ptr, so a reload swaps a new Runtime in for new connections while each established
// connection keeps the certificates, trust anchors and checker it started with until it
// closes; the old Runtime goes away with its last connection.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"
#include "ocsp/checker.h"
#include "ocsp/shared_cache/shared_cache.h"
#include "proxy/core/listener.h"
#include "proxy/expiry/watched_certificates.h"
#include "base/result.h"

namespace ocspgate::proxy {

using CheckerMap = std::map<std::string, std::shared_ptr<ocsp::Checker>>;  // by profile name

struct Runtime {
    conf::Config config;
    std::uint64_t generation = 1;  // 1 at start-up, +1 per applied reload
    CheckerMap checkers;
    // The fleet's shared OCSP response cache ([cache.shared]), or null; made at start-up and
    // handed on by every reload (a change of [cache.shared] needs a restart).
    std::shared_ptr<ocsp::SharedCache> shared_cache;
    std::vector<std::shared_ptr<const ListenerSettings>> listeners;  // in config order
    std::vector<expiry::WatchedCertificate> watched_certificates;  // for the expiry monitor

    // The settings of the listener bound to `key` (listener_key), or null.
    std::shared_ptr<const ListenerSettings> listener_at(const std::string& key) const;
};

// Identifies a listening socket across reloads: its numeric address ("127.0.0.1:5061").
// A listener that keeps its address keeps its socket (no connection is refused while the
// reload happens); one whose address changed is a new socket.
std::string listener_key(const conf::Listener& listener);

// Builds everything `config` asks for. Reads certificate, key and trust files, so it runs off
// the event loops (start-up, or the thread pool on reload). With `previous` (a reload),
// listener counters carry over by listener name and checkers by profile name (see
// ocsp::create_checker), so metrics stay monotonic and an unchanged profile keeps its cache.
Result<std::shared_ptr<const Runtime>> build_runtime(conf::Config config, const Runtime* previous);

}  // namespace ocspgate::proxy
