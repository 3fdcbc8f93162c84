#include "ocsp/loop_timer.h"

#include <utility>

namespace ocspgate::ocsp {

LoopTimer::LoopTimer(uv_loop_t* loop) : handle_(new uv_timer_t) {
    uv_timer_init(loop, handle_);
    handle_->data = this;
}

LoopTimer::~LoopTimer() {
    handle_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(handle_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
}

void LoopTimer::arm(std::chrono::milliseconds delay, std::function<void()> fire) {
    fire_ = std::move(fire);
    auto ms = delay.count() < 0 ? 0 : static_cast<std::uint64_t>(delay.count());
    uv_timer_start(handle_, on_fire, ms, 0);
}

void LoopTimer::stop() {
    uv_timer_stop(handle_);
    fire_ = nullptr;
}

void LoopTimer::on_fire(uv_timer_t* handle) noexcept {
    auto* self = static_cast<LoopTimer*>(handle->data);
    if (self == nullptr) return;
    // Moved out first: the callback may destroy this timer's owner, and with it `self`.
    auto fire = std::move(self->fire_);
    self->fire_ = nullptr;
    if (fire) fire();
}

}  // namespace ocspgate::ocsp
