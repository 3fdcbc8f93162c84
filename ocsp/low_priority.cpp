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

namespace ocspgate::ocsp {
namespace {

class LowPriorityThread {
public:
    // False when there is no thread (it could not be started): the caller runs the work itself.
    bool run(const std::function<void()>& work) {
        Job job{&work};
        std::unique_lock lock(mutex_);
        if (!start_locked()) return false;
        jobs_.push_back(&job);
        wake_.notify_one();
        done_.wait(lock, [&job] { return job.done; });
        return true;
    }

private:
    struct Job {
        const std::function<void()>* work;
        bool done = false;
    };

    bool start_locked() {
        if (started_) return true;
        if (failed_) return false;
        try {
            thread_ = std::thread([this] { serve(); });
            thread_.detach();  // lives as long as the process: never stopped, never joined
            started_ = true;
        } catch (const std::system_error&) {
            failed_ = true;
        }
        return !failed_;
    }

    void serve() {
        ::pthread_setname_np(::pthread_self(), "ocspgate-crl");
        sched_param param{};
        if (::pthread_setschedparam(::pthread_self(), SCHED_IDLE, &param) != 0)
            ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 19);  // best effort
        std::unique_lock lock(mutex_);
        for (;;) {
            wake_.wait(lock, [this] { return !jobs_.empty(); });
            Job* job = jobs_.front();
            jobs_.pop_front();
            lock.unlock();
            (*job->work)();
            lock.lock();
            job->done = true;
            done_.notify_all();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_, done_;
    std::deque<Job*> jobs_;  // each owned by the run() waiting for it
    std::thread thread_;
    bool started_ = false;
    bool failed_ = false;
};

}  // namespace

void run_at_low_priority(const std::function<void()>& work) {
    // Never destroyed: a pool thread may still hand it work while the process exits.
    static auto* const thread = new LowPriorityThread;
    if (!thread->run(work)) work();
}

}  // namespace ocspgate::ocsp
