#include "ocsp/mailbox.h"

namespace ocspgate::ocsp {

Mailbox::Mailbox(uv_loop_t* loop) : loop_(loop) {
    uv_async_init(loop_, &async_, on_wakeup);
    async_.data = this;
}

Mailbox::~Mailbox() = default;

void Mailbox::post(std::function<void()> task) {
    {
        std::lock_guard lock(mutex_);
        if (closed_) return;
        tasks_.push_back(std::move(task));
    }
    uv_async_send(&async_);
}

void Mailbox::close() {
    {
        std::lock_guard lock(mutex_);
        if (closed_) return;
        closed_ = true;
        tasks_.clear();
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

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
