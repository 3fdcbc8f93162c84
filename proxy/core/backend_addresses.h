// Where a listener's backend is: its one numeric address, or the addresses its host name
// resolved to, shared by the connections of every worker.
//
// A name is resolved with uv_getaddrinfo (libuv's thread pool), never on a loop thread. The
// addresses are kept for `backend_resolve_interval`; the first connection after that starts one
// new resolution and, like every other connection meanwhile, still uses the previous addresses
// (a lookup per handshake would put the resolver in every connection's path). A connection
// that finds no addresses at all (first use, the last resolution failed, or every address
// failed to connect: forget()) waits for its own resolution.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "conf/config.h"
#include "base/result.h"

namespace ocspgate::proxy {

using AddressList = std::vector<sockaddr_storage>;

class BackendAddresses {
public:
    BackendAddresses(std::string listener, conf::Address backend, conf::Duration refresh_interval);

    const conf::Address& backend() const { return backend_; }
    const std::string& listener() const { return listener_; }
    bool is_name() const { return !backend_.host.empty(); }

    struct Snapshot {
        AddressList addresses;  // empty: none known, the caller must resolve
        bool refresh = false;   // true for the one caller that should resolve again now
    };
    // Thread-safe. A numeric backend always gives its one address.
    Snapshot current();

    // Thread-safe: the outcome of a resolution started after current() said so (or found none).
    void store(Result<AddressList> resolved);
    // Thread-safe: a resolution was cancelled before it ran; another caller may refresh.
    void release_refresh();
    // Thread-safe: every address failed to connect; the next connection resolves first.
    void forget();

private:
    using Clock = std::chrono::steady_clock;

    const std::string listener_;
    const conf::Address backend_;
    const conf::Duration refresh_interval_;
    std::mutex mutex_;  // guards the fields below
    AddressList addresses_;
    Clock::time_point resolved_at_{};
    bool refreshing_ = false;
};

// One uv_getaddrinfo of the backend's name. Whatever happens to the handle, the result is
// stored into the shared BackendAddresses; `done` runs only while the handle is alive.
class BackendResolution {
public:
    using Done = std::function<void(Result<AddressList>)>;
    // Fails only when libuv refuses the request; that failure is stored (and logged) too.
    static Result<std::unique_ptr<BackendResolution>> start(uv_loop_t* loop,
                                                            std::shared_ptr<BackendAddresses> addresses, Done done);
    // Cancels the callback (the lookup itself may still finish on the thread pool and is then
    // freed by its own completion).
    ~BackendResolution();

    BackendResolution(const BackendResolution&) = delete;
    BackendResolution& operator=(const BackendResolution&) = delete;

    struct Pending;  // the in-flight request; owns itself until libuv calls back

private:
    explicit BackendResolution(Pending* pending) : pending_(pending) {}
    Pending* pending_;
};

// "a.b.c.d:port" / "[v6]:port" for each address, comma-separated (logs).
std::string describe(const AddressList& addresses);

}  // namespace ocspgate::proxy
