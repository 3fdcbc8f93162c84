#include "ocsp/mailbox.h"

namespace ocspgate::ocsp {

Mailbox::Mailbox(uv_loop_t* loop) : loop_(loop) {
    uv_async_init(loop_, &async_, on_wakeup);
    async_.data = this;
}

Mailbox::~Mailbox() = default;

void Mailbox::post(std::function<void()> task) {
    // Send under the lock: a close() between the check and the send would otherwise let
    // this thread touch the handle after uv_close (and after the Mailbox is gone).
    std::lock_guard lock(mutex_);
    if (closed_) return;
    tasks_.push_back(std::move(task));
    uv_async_send(&async_);
}

bool Mailbox::closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
}

void Mailbox::close() {
    {
        std::lock_guard lock(mutex_);
        if (closed_) return;
        closed_ = true;
        tasks_.clear();
    }
    // Hooks may remove others while they run (a Download that a Redis connection's shutdown
    // finished removes its own hook, and is gone): take them one at a time from the live map,
    // so a removed hook never runs.
    while (!close_hooks_.empty()) {
        auto hook = close_hooks_.extract(close_hooks_.begin());
        hook.mapped()();
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

std::uint64_t Mailbox::add_close_hook(std::function<void()> hook) {
    std::uint64_t id = next_hook_id_++;
    close_hooks_.emplace(id, std::move(hook));
    return id;
}

void Mailbox::remove_close_hook(std::uint64_t id) { close_hooks_.erase(id); }

void Mailbox::on_wakeup(uv_async_t* handle) noexcept {
    auto* self = static_cast<Mailbox*>(handle->data);
    std::vector<std::function<void()>> batch;
    {
        std::lock_guard lock(self->mutex_);
        batch.swap(self->tasks_);
    }
    for (auto& task : batch) task();
}

}  // namespace ocspgate::ocsp
