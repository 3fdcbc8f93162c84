#include "ocsp/low_priority.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace ocspgate::ocsp {
namespace {

struct Seen {
    pid_t tid = 0;
    std::string name;
    int policy = -1;
    int nice = 0;
};

Seen where_am_i() {
    Seen seen;
    seen.tid = ::gettid();
    std::array<char, 16> name{};
    ::pthread_getname_np(::pthread_self(), name.data(), name.size());
    seen.name = name.data();
    sched_param param{};
    ::pthread_getschedparam(::pthread_self(), &seen.policy, &param);
    seen.nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(seen.tid));
    return seen;
}

TEST(LowPriority, RunsTheWorkOnOneNamedLowPriorityThreadAndWaitsForIt) {
    Seen first, second;
    run_at_low_priority([&] { first = where_am_i(); });
    run_at_low_priority([&] { second = where_am_i(); });
    EXPECT_NE(first.tid, ::gettid());
    EXPECT_EQ(first.name, "ocspgate-crl");
    EXPECT_TRUE(first.policy == SCHED_IDLE || first.nice == 19) << first.policy << " " << first.nice;
    // The same thread each time: one malloc arena for every parse and free.
    EXPECT_EQ(second.tid, first.tid);
}

TEST(LowPriority, CallersOnSeveralThreadsEachGetTheirOwnWorkDone) {
    constexpr int callers = 4, rounds = 50;
    std::array<int, callers> done{};
    std::vector<std::thread> threads;
    for (int c = 0; c < callers; ++c)
        threads.emplace_back([&done, c] {
            for (int i = 0; i < rounds; ++i) run_at_low_priority([&done, c] { ++done[c]; });
        });
    for (auto& t : threads) t.join();
    for (int c = 0; c < callers; ++c) EXPECT_EQ(done[c], rounds) << "caller " << c;
}

TEST(LowPriority, PostedWorkRunsThereInOrderWithoutTheCallerWaiting) {
    std::promise<void> release;
    std::shared_future<void> go = release.get_future().share();
    std::vector<int> order;
    std::promise<Seen> seen;
    // The first job holds the thread until this test lets it go: post() returned before.
    ASSERT_TRUE(post_at_low_priority([go] { go.wait(); }));
    ASSERT_TRUE(post_at_low_priority([&order] { order.push_back(1); }));
    ASSERT_TRUE(post_at_low_priority([&order, &seen] {
        order.push_back(2);
        seen.set_value(where_am_i());
    }));
    release.set_value();
    auto future = seen.get_future();
    ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_EQ(future.get().name, "ocspgate-crl");
    EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

}  // namespace
}  // namespace ocspgate::ocsp
