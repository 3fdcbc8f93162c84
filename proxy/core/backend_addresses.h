// Where a listener's backend is: its one numeric address, or the addresses its host name
// resolved to, shared by the connections of every worker.
//
// A name is resolved with uv_getaddrinfo (libuv's thread pool), never on a loop thread. The
// addresses are kept for `backend_resolve_interval`; the first connection after that starts one
// new resolution and, like every other connection meanwhile, still uses the previous addresses
// (a lookup per handshake would put the resolver in every connection's path). When no
// addresses are known (first use, the last resolution failed, or every address failed to
// connect: forget()), one connection resolves and the others wait for its outcome.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "conf/config.h"
#include "ocsp/mailbox.h"
#include "base/result.h"

namespace ocspgate::proxy {

using AddressList = std::vector<sockaddr_storage>;

class BackendAddresses : public std::enable_shared_from_this<BackendAddresses> {
public:
    BackendAddresses(std::string listener, conf::Address backend, conf::Duration refresh_interval);

    const conf::Address& backend() const { return backend_; }
    const std::string& listener() const { return listener_; }
    bool is_name() const { return !backend_.host.empty(); }

    // Runs on the waiter's loop once the resolution it waited for ended: with "" (ask
    // current() again) or that resolution's error.
    using Wake = std::function<void(const std::string& error)>;
    class WaitToken;  // destroying it withdraws the waiter

    struct Snapshot {
        AddressList addresses;  // empty: none known yet
        bool refresh = false;   // with addresses: this caller also starts a new resolution
        bool resolve = false;   // none known: this caller resolves, the others wait for it
        std::unique_ptr<WaitToken> wait;  // none known, another caller resolves: wait
    };
    // Thread-safe. A numeric backend always gives its one address. With none known, exactly
    // one caller resolves at a time, so a burst of handshakes (start-up, DNS down) costs one
    // lookup on the thread pool, not one each; `wake` is kept weakly and posted to `home`.
    // Must be held through a shared_ptr (WaitToken keeps it alive).
    Snapshot current(ocsp::Mailbox& home, const std::shared_ptr<Wake>& wake);

    // Thread-safe: the outcome of a resolution started after current() said so; `waited`:
    // one started for `resolve` (else for `refresh`).
    void store(Result<AddressList> resolved, bool waited);
    // Thread-safe: a resolution was cancelled before it ran; another caller may start one.
    void release(bool waited);
    // Thread-safe: every address failed to connect; the next connection resolves first.
    void forget();

private:
    using Clock = std::chrono::steady_clock;
    struct Waiter {
        ocsp::Mailbox* home;
        std::weak_ptr<Wake> wake;
    };
    void wake_waiters(const std::string& error);  // under mutex_

    const std::string listener_;
    const conf::Address backend_;
    const conf::Duration refresh_interval_;
    std::mutex mutex_;  // guards the fields below
    AddressList addresses_;
    Clock::time_point resolved_at_{};
    bool refreshing_ = false;
    bool resolving_ = false;
    // Every waiter's connection (and so its worker and Mailbox) is alive while it is here:
    // its WaitToken removes it under mutex_, so a post never reaches a dead Mailbox.
    std::map<std::uint64_t, Waiter> waiters_;
    std::uint64_t next_waiter_ = 1;
};

class BackendAddresses::WaitToken {
public:
    WaitToken(std::shared_ptr<BackendAddresses> owner, std::uint64_t id) : owner_(std::move(owner)), id_(id) {}
    ~WaitToken();
    WaitToken(const WaitToken&) = delete;
    WaitToken& operator=(const WaitToken&) = delete;

private:
    std::shared_ptr<BackendAddresses> owner_;
    std::uint64_t id_;
};

// One uv_getaddrinfo of the backend's name. Whatever happens to the handle, the result is
// stored into the shared BackendAddresses; `done` runs only while the handle is alive.
class BackendResolution {
public:
    using Done = std::function<void(Result<AddressList>)>;
    // Fails only when libuv refuses the request; that failure is stored (and logged) too.
    // `waited`: started for Snapshot::resolve (else for refresh), see BackendAddresses::store.
    static Result<std::unique_ptr<BackendResolution>> start(uv_loop_t* loop,
                                                            std::shared_ptr<BackendAddresses> addresses,
                                                            bool waited, Done done);
    // A refresh nobody waits for: it outlives the connection that started it (which is done
    // with its backend dial long before a busy thread pool gets to the lookup) and is
    // cancelled only when `home` closes, so a worker that shuts down does not wait for DNS.
    static void refresh(ocsp::Mailbox& home, std::shared_ptr<BackendAddresses> addresses);
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
