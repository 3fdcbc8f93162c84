// Reading and building a new configuration off the main loop. Loading reads the config file
// and every certificate, key and CRL it names, and building makes the TLS contexts and
// checkers: file I/O and crypto that must not stall the main loop (admin endpoint, signals),
// so both run on libuv's thread pool and the result comes back on the loop.
#pragma once

#include <uv.h>

#include <filesystem>
#include <functional>
#include <memory>

#include "proxy/core/runtime.h"
#include "base/result.h"

namespace ocspgate::proxy::process {

using RuntimeReady = std::function<void(Result<std::shared_ptr<const Runtime>>)>;

// Loads `config_file`, validates it and builds its Runtime with `previous` as the one it
// replaces (which must stay alive until `done` runs: the caller holds it). `done` runs on
// `loop`'s thread. An invalid file gives Errc::config with every diagnostic, one per line.
void load_runtime_async(uv_loop_t* loop, std::filesystem::path config_file, std::shared_ptr<const Runtime> previous,
                        RuntimeReady done);

}  // namespace ocspgate::proxy::process
