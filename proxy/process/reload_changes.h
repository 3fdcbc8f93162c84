// What a reload changes, named for the log (#26 point 7): listeners added, removed or changed
// (with the settings that changed), and revocation profiles added, removed, changed or not,
// each with whether its status cache was kept or dropped. Values in, values out: the server
// logs them, the same way whatever asked for the reload (SIGHUP or POST /reload).
#pragma once

#include <string>
#include <vector>

#include "proxy/core/runtime.h"

namespace ocspgate::proxy::process {

struct ReloadChange {
    std::string what;     // "listener" | "profile"
    std::string name;
    std::string change;   // added | removed | changed | unchanged (profiles only)
    std::string address;  // listeners: the address in force after the reload (removed: before)
    std::string settings; // listeners changed: the keys that changed, comma-separated
    std::string cache;    // profiles: kept | dropped | new (added) | gone (removed)
};

// Listeners in `next`'s order, then removed ones; then profiles likewise. Listeners that
// stayed the same are left out (nothing happened to them); every profile is listed, because
// whether its cache survived is news either way.
std::vector<ReloadChange> reload_changes(const Runtime& running, const Runtime& next);

// One `reload_listener` / `reload_profile` line per change, at info, with `trigger`.
void log_reload_changes(const std::vector<ReloadChange>& changes, const std::string& trigger);

}  // namespace ocspgate::proxy::process
