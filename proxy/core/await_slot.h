// A place among the handshakes paused for a revocation lookup (server.max_awaiting_revocation):
// taken before a handshake pauses, given back when its decision arrives or it closes.
#pragma once

#include <atomic>
#include <cstdint>

namespace ocspgate::proxy {

class AwaitSlot {
public:
    AwaitSlot() = default;
    AwaitSlot(const AwaitSlot&) = delete;
    AwaitSlot& operator=(const AwaitSlot&) = delete;
    ~AwaitSlot() { release(); }

    // False (nothing taken) when `limit` handshakes already wait.
    bool take(std::atomic<std::uint32_t>& waiting, std::uint32_t limit) {
        release();
        if (waiting.fetch_add(1, std::memory_order_relaxed) >= limit) {
            waiting.fetch_sub(1, std::memory_order_relaxed);
            return false;
        }
        waiting_ = &waiting;
        return true;
    }

    void release() {
        if (waiting_ != nullptr) waiting_->fetch_sub(1, std::memory_order_relaxed);
        waiting_ = nullptr;
    }

private:
    std::atomic<std::uint32_t>* waiting_ = nullptr;
};

}  // namespace ocspgate::proxy
