#include "ocsp/low_priority.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

namespace ocspgate::ocsp {
namespace {

class LowPriorityThread {
public:
    // Each false when there is no thread (it could not be started).
    bool run(const std::function<void()>& work) {
        bool done = false;
        std::unique_lock lock(mutex_);
        if (!start_locked()) return false;
        jobs_.push_back([this, &work, &done] {
            work();
            std::lock_guard relock(mutex_);
            done = true;
            done_.notify_all();
        });
        wake_.notify_one();
        done_.wait(lock, [&done] { return done; });
        return true;
    }

    bool post(std::function<void()> work) {
        std::lock_guard lock(mutex_);
        if (!start_locked()) return false;
        jobs_.push_back(std::move(work));
        wake_.notify_one();
        return true;
    }

private:
    bool start_locked() {
        if (started_) return true;
        if (failed_) return false;
        try {
            std::thread([this] { serve(); }).detach();  // lives as long as the process
            started_ = true;
        } catch (const std::system_error&) {
            failed_ = true;
        }
        return started_;
    }

    void serve() {
        ::pthread_setname_np(::pthread_self(), "ocspgate-crl");
        sched_param param{};
        if (::pthread_setschedparam(::pthread_self(), SCHED_IDLE, &param) != 0)
            ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 19);  // best effort
        std::unique_lock lock(mutex_);
        for (;;) {
            wake_.wait(lock, [this] { return !jobs_.empty(); });
            auto job = std::move(jobs_.front());
            jobs_.pop_front();
            lock.unlock();
            job();
            job = nullptr;  // what it captured goes here too, not under the lock
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_, done_;
    std::deque<std::function<void()>> jobs_;
    bool started_ = false;
    bool failed_ = false;
};

// Never destroyed: a pool thread may still hand it work while the process exits.
LowPriorityThread& the_thread() {
    static auto* const thread = new LowPriorityThread;
    return *thread;
}

}  // namespace

void run_at_low_priority(const std::function<void()>& work) {
    if (!the_thread().run(work)) work();
}

bool post_at_low_priority(std::function<void()> work) {
    return the_thread().post(std::move(work));
}

}  // namespace ocspgate::ocsp
