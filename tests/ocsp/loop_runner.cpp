#include "loop_runner.h"

#include <gtest/gtest.h>

namespace ocspgate::ocsp::testing {
namespace {

constexpr std::uint64_t watchdog_ms = 5000;

uv_handle_t* as_handle(uv_timer_t* timer) { return reinterpret_cast<uv_handle_t*>(timer); }

}  // namespace

LoopRunner::LoopRunner() {
    uv_loop_init(&loop_);
    mailbox_ = std::make_unique<Mailbox>(&loop_);
    uv_timer_init(&loop_, &poll_);
    uv_timer_init(&loop_, &watchdog_);
    poll_.data = this;
    watchdog_.data = this;
    uv_unref(as_handle(&watchdog_));
}

LoopRunner::~LoopRunner() { shutdown(); }

LoopbackServer& LoopRunner::serve(std::vector<CannedReply> replies) {
    servers_.push_back(std::make_unique<LoopbackServer>(&loop_, std::move(replies)));
    EXPECT_EQ(servers_.back()->status(), 0) << "cannot listen on 127.0.0.1";
    return *servers_.back();
}

void LoopRunner::arm_watchdog() {
    watchdog_fired_ = false;
    uv_timer_start(&watchdog_, on_watchdog, watchdog_ms, 0);
}

bool LoopRunner::run_until(const std::function<bool()>& done) {
    until_ = &done;
    arm_watchdog();
    if (!done()) {
        uv_timer_start(&poll_, on_poll, 1, 1);
        uv_run(&loop_, UV_RUN_DEFAULT);
    }
    uv_timer_stop(&poll_);
    uv_timer_stop(&watchdog_);
    until_ = nullptr;
    EXPECT_FALSE(watchdog_fired_) << "the loop ran for more than 5 s";
    return !watchdog_fired_;
}

void LoopRunner::on_poll(uv_timer_t* timer) noexcept {
    auto& self = *static_cast<LoopRunner*>(timer->data);
    if ((*self.until_)()) uv_stop(&self.loop_);
}

void LoopRunner::on_watchdog(uv_timer_t* timer) noexcept {
    auto& self = *static_cast<LoopRunner*>(timer->data);
    self.watchdog_fired_ = true;
    uv_stop(&self.loop_);
}

void LoopRunner::shutdown() {
    if (shut_down_) return;
    shut_down_ = true;
    mailbox_->close();
    for (auto& server : servers_) server->close();
    uv_close(as_handle(&poll_), nullptr);
    arm_watchdog();
    uv_run(&loop_, UV_RUN_DEFAULT);  // returns once only the watchdog (unreferenced) is left
    uv_close(as_handle(&watchdog_), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_FALSE(watchdog_fired_) << "closing the loop took more than 5 s";
    if (uv_loop_close(&loop_) != 0) {
        ADD_FAILURE() << "handles are still open on the loop";
        // Freeing what the loop still points at would turn one failure into a crash.
        (void)mailbox_.release();
        for (auto& server : servers_) (void)server.release();
        return;
    }
    servers_.clear();
    mailbox_.reset();
}

}  // namespace ocspgate::ocsp::testing
