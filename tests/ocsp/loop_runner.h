// One libuv loop, its Mailbox and loopback servers for a test of the asynchronous engine
// (OCSP queries, CRL downloads, chain checks), driven on the test's own thread.
//
// Callbacks only record; the test asserts after run_until() returns. A watchdog bounds every
// run to 5 s, so a broken build fails instead of hanging.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <vector>

#include "loopback_server.h"
#include "ocsp/mailbox.h"

namespace ocspgate::ocsp::testing {

class LoopRunner {
public:
    LoopRunner();
    LoopRunner(const LoopRunner&) = delete;
    LoopRunner& operator=(const LoopRunner&) = delete;
    ~LoopRunner();  // shutdown()

    uv_loop_t* loop() { return &loop_; }
    Mailbox& mailbox() { return *mailbox_; }

    // A server on this loop that lives until shutdown().
    LoopbackServer& serve(std::vector<CannedReply> replies);

    // Runs the loop until `done()` holds (checked every millisecond); false if the watchdog
    // stopped it first. The loop can be run again afterwards.
    bool run_until(const std::function<bool()>& done);

    // Closes the mailbox (its close hooks abort whatever is still in flight) and every server,
    // then runs the loop until every handle has closed. Call it while everything the pending
    // work calls back into (a checker, a store) is still alive, e.g. from TearDown().
    // Idempotent.
    void shutdown();

private:
    static void on_poll(uv_timer_t* timer) noexcept;
    static void on_watchdog(uv_timer_t* timer) noexcept;
    void arm_watchdog();

    uv_loop_t loop_{};
    std::unique_ptr<Mailbox> mailbox_;
    uv_timer_t poll_{};
    uv_timer_t watchdog_{};
    const std::function<bool()>* until_ = nullptr;  // during run_until() only
    bool watchdog_fired_ = false;
    bool shut_down_ = false;
    std::vector<std::unique_ptr<LoopbackServer>> servers_;
};

}  // namespace ocspgate::ocsp::testing
