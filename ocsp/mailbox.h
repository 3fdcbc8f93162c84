// A loop's inbox: other threads (and the loop itself) post completions that then run on the
// loop, outside whatever callback produced them. Revocation lookups are shared by every
// worker loop, so a lookup finishing on one loop hands each waiter its result through the
// waiter's own loop's Mailbox.
#pragma once

#include <uv.h>

#include <functional>
#include <mutex>
#include <vector>

namespace ocspgate::ocsp {

class Mailbox {
public:
    explicit Mailbox(uv_loop_t* loop);  // on the loop's thread
    ~Mailbox();
    Mailbox(const Mailbox&) = delete;
    Mailbox& operator=(const Mailbox&) = delete;

    uv_loop_t* loop() const { return loop_; }

    // Thread-safe. `task` runs on the loop soon; after close() it is dropped without running.
    void post(std::function<void()> task);

    // On the loop's thread: stop accepting tasks and release the async handle so the loop
    // can end. The Mailbox must stay alive until the loop has run the close callback.
    void close();

private:
    static void on_wakeup(uv_async_t* handle) noexcept;

    uv_loop_t* loop_;
    uv_async_t async_{};
    std::mutex mutex_;
    bool closed_ = false;                       // guarded by mutex_
    std::vector<std::function<void()>> tasks_;  // guarded by mutex_
};

}  // namespace ocspgate::ocsp
