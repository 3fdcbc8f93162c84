// A loop's inbox: other threads (and the loop itself) post completions that then run on the
// loop, outside whatever callback produced them. Revocation lookups are shared by every
// worker loop, so a lookup finishing on one loop hands each waiter its result through the
// waiter's own loop's Mailbox.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
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
    // Thread-safe. True once close() has run: its close hooks will never run again.
    bool closed() const;

    // Thread-safe. `task` runs on the loop soon; after close() it is dropped without running.
    void post(std::function<void()> task);

    // On the loop's thread: stop accepting tasks, run the close hooks, and release the async
    // handle so the loop can end. The Mailbox must stay alive until the loop has run the
    // close callback.
    void close();

    // Work running on this loop on behalf of others (a shared OCSP query, a CRL download)
    // registers a hook that aborts it, so a worker that is shutting down does not wait for
    // lookups whose requesters are gone. Loop thread only. Returns an id for remove_close_hook.
    std::uint64_t add_close_hook(std::function<void()> hook);
    void remove_close_hook(std::uint64_t id);

private:
    static void on_wakeup(uv_async_t* handle) noexcept;

    uv_loop_t* loop_;
    uv_async_t async_{};
    mutable std::mutex mutex_;
    bool closed_ = false;                       // guarded by mutex_
    std::vector<std::function<void()>> tasks_;  // guarded by mutex_
    std::map<std::uint64_t, std::function<void()>> close_hooks_;  // loop thread only
    std::uint64_t next_hook_id_ = 1;
};

}  // namespace ocspgate::ocsp
