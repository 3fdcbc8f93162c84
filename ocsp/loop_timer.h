// An owned one-shot libuv timer for objects that are destroyed synchronously: the uv_timer_t
// lives on the heap and frees itself in its close callback, so the owner may go away at any
// time (even from inside the timer's own callback) and the callback never runs afterwards.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>

namespace ocspgate::ocsp {

class LoopTimer {
public:
    explicit LoopTimer(uv_loop_t* loop);
    ~LoopTimer();
    LoopTimer(const LoopTimer&) = delete;
    LoopTimer& operator=(const LoopTimer&) = delete;

    // Runs `fire` once after `delay`, replacing what was armed before.
    void arm(std::chrono::milliseconds delay, std::function<void()> fire);
    void stop();

private:
    static void on_fire(uv_timer_t* handle) noexcept;

    uv_timer_t* handle_;
    std::function<void()> fire_;
};

}  // namespace ocspgate::ocsp
