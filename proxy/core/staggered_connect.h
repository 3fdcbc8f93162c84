// A TCP connect to the first of several addresses that answers (RFC 8305 "Happy Eyeballs",
// section 5): the addresses, families interleaved, are tried in order; the next attempt starts
// when the previous one failed or kAttemptDelay after it started while it is still pending, so
// an address that drops SYNs costs 250 ms instead of the whole connect_timeout. The first
// attempt to connect wins; the others are closed.
//
// The winner's socket is handed over as a descriptor (a dup of the attempt's, which is then
// closed), for the caller to uv_tcp_open() in a handle it owns: libuv handles cannot move, and
// the connection keeps its one embedded backend handle. The deadline is the caller's
// (connect_timeout): destroying the object closes every attempt.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <string>

#include "proxy/core/backend_addresses.h"
#include "base/result.h"

namespace ocspgate::proxy {

// RFC 8305 section 5 recommends 250 ms ("Connection Attempt Delay").
inline constexpr std::chrono::milliseconds kAttemptDelay{250};

class StaggeredConnect {
public:
    // The connected socket (the caller owns it now), or why no address connected: the libuv
    // error name alone for one address (as before host names), else "ADDRESS ERROR, ...".
    using Done = std::function<void(Result<uv_os_sock_t>)>;

    // `done` runs once, from a libuv callback, never from start() (with no addresses: a
    // failure, on the next loop iteration).
    static std::unique_ptr<StaggeredConnect> start(uv_loop_t* loop, AddressList addresses, Done done);
    ~StaggeredConnect();

    StaggeredConnect(const StaggeredConnect&) = delete;
    StaggeredConnect& operator=(const StaggeredConnect&) = delete;

    struct Attempt;  // one socket; owns itself from uv_close until its close callback
    struct Timer;    // the stagger timer; likewise

private:
    StaggeredConnect(uv_loop_t* loop, AddressList addresses, Done done);
    static void on_connect(uv_connect_t* req, int status) noexcept;
    static void on_timer_fired(uv_timer_t* handle) noexcept;
    void start_next();
    void on_attempt_done(Attempt* attempt, int status);
    void on_timer();
    void finish(Result<uv_os_sock_t> result);  // must be the caller's last use of `this`
    void note_failure(const sockaddr_storage& address, int status);
    void close_attempt(Attempt* attempt);

    uv_loop_t* loop_;
    AddressList addresses_;
    std::size_t next_ = 0;
    std::list<Attempt*> pending_;  // started, not yet failed
    Timer* timer_ = nullptr;
    std::string failures_;
    int last_status_ = 0;
    Done done_;
};

// RFC 8305 section 4: alternate the families, starting with the family of the first address
// (the resolver's preferred one, RFC 6724), keeping each family's own order.
AddressList interleave_families(const AddressList& addresses);

}  // namespace ocspgate::proxy
