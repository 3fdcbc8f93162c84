#include "proxy/core/backend_addresses.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "conf/address.h"
#include "ocsp/mailbox.h"

namespace ocspgate::proxy {
namespace {

AddressList one_address() { return {conf::parse_address("127.0.0.3:5060")->storage}; }

// A loop with a Mailbox, for the wake-ups of waiting callers; each wake records its error.
class BackendAddressesTest : public ::testing::Test {
protected:
    BackendAddressesTest() {
        uv_loop_init(&loop_);
        mailbox_ = std::make_unique<ocsp::Mailbox>(&loop_);
    }
    ~BackendAddressesTest() override {
        mailbox_->close();
        uv_run(&loop_, UV_RUN_DEFAULT);
        mailbox_.reset();
        EXPECT_EQ(uv_loop_close(&loop_), 0);
    }

    std::shared_ptr<BackendAddresses> named(conf::Duration interval) {
        return std::make_shared<BackendAddresses>("test", *conf::parse_backend_address("sip-core.test:5060"), interval);
    }
    BackendAddresses::Snapshot ask(BackendAddresses& backend) { return backend.current(*mailbox_, wake_); }
    void run_posted() { uv_run(&loop_, UV_RUN_NOWAIT); }

    uv_loop_t loop_{};
    std::unique_ptr<ocsp::Mailbox> mailbox_;
    std::vector<std::string> woken_;
    std::shared_ptr<BackendAddresses::Wake> wake_ =
        std::make_shared<BackendAddresses::Wake>([this](const std::string& error) { woken_.push_back(error); });
};

TEST_F(BackendAddressesTest, ANumericBackendIsItsOneAddressAndNeverResolved) {
    auto numeric = std::make_shared<BackendAddresses>("test", *conf::parse_backend_address("127.0.0.1:5060"),
                                                      conf::Duration{1});
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    BackendAddresses::Snapshot now = ask(*numeric);
    EXPECT_EQ(describe(now.addresses), "127.0.0.1:5060");
    EXPECT_FALSE(now.refresh || now.resolve || now.wait);
    numeric->forget();
    EXPECT_EQ(ask(*numeric).addresses.size(), 1u);
}

TEST_F(BackendAddressesTest, WithNoneKnownOneCallerResolvesAndTheOthersWait) {
    auto backend = named(conf::Duration{30000});
    BackendAddresses::Snapshot first = ask(*backend);
    BackendAddresses::Snapshot second = ask(*backend);
    EXPECT_TRUE(first.resolve && !first.wait);
    EXPECT_TRUE(!second.resolve && second.wait);
    backend->store(one_address(), true);
    run_posted();
    EXPECT_EQ(woken_, std::vector<std::string>{""});  // asks again, and finds the address
    EXPECT_EQ(describe(ask(*backend).addresses), "127.0.0.3:5060");
}

TEST_F(BackendAddressesTest, AFailedResolutionIsHandedToThoseWaiting) {
    auto backend = named(conf::Duration{30000});
    ASSERT_TRUE(ask(*backend).resolve);
    BackendAddresses::Snapshot waiting = ask(*backend);
    backend->store(make_error(Errc::io, "cannot resolve \"sip-core.test\": EAI_NONAME"), true);
    run_posted();
    EXPECT_EQ(woken_, std::vector<std::string>{"cannot resolve \"sip-core.test\": EAI_NONAME"});
    EXPECT_TRUE(ask(*backend).resolve);  // the next connection tries again
}

TEST_F(BackendAddressesTest, AWithdrawnWaiterIsNotWoken) {
    auto backend = named(conf::Duration{30000});
    ASSERT_TRUE(ask(*backend).resolve);
    ask(*backend);  // its WaitToken is destroyed at once: the connection went away
    backend->store(one_address(), true);
    run_posted();
    EXPECT_TRUE(woken_.empty());
}

TEST_F(BackendAddressesTest, ACancelledResolutionLetsAWaiterResolveInstead) {
    auto backend = named(conf::Duration{30000});
    ASSERT_TRUE(ask(*backend).resolve);
    BackendAddresses::Snapshot waiting = ask(*backend);
    backend->release(true);
    run_posted();
    EXPECT_EQ(woken_, std::vector<std::string>{""});
    EXPECT_TRUE(ask(*backend).resolve);
}

TEST_F(BackendAddressesTest, StaleAddressesAreRefreshedByExactlyOneCallerAndStillUsed) {
    auto backend = named(conf::Duration{20});
    ASSERT_TRUE(ask(*backend).resolve);
    backend->store(one_address(), true);
    EXPECT_FALSE(ask(*backend).refresh);  // fresh
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    BackendAddresses::Snapshot first = ask(*backend);
    BackendAddresses::Snapshot second = ask(*backend);
    EXPECT_TRUE(first.refresh);
    EXPECT_FALSE(second.refresh);
    EXPECT_EQ(describe(second.addresses), "127.0.0.3:5060");
    backend->store(one_address(), false);
    EXPECT_FALSE(ask(*backend).refresh);
}

TEST_F(BackendAddressesTest, AFailedRefreshKeepsTheAddressesForAnotherInterval) {
    auto backend = named(conf::Duration{20});
    ASSERT_TRUE(ask(*backend).resolve);
    backend->store(one_address(), true);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ASSERT_TRUE(ask(*backend).refresh);
    backend->store(make_error(Errc::io, "cannot resolve"), false);
    BackendAddresses::Snapshot now = ask(*backend);
    EXPECT_EQ(describe(now.addresses), "127.0.0.3:5060");
    EXPECT_FALSE(now.refresh);  // not at every connection while the resolver is down
}

TEST_F(BackendAddressesTest, ForgetMakesTheNextConnectionResolve) {
    auto backend = named(conf::Duration{30000});
    ASSERT_TRUE(ask(*backend).resolve);
    backend->store(one_address(), true);
    backend->forget();
    EXPECT_TRUE(ask(*backend).resolve);
}

// Holds every libuv thread-pool thread busy until released, so a lookup queued meanwhile is
// still cancellable: what a loaded machine does to a refresh in the microseconds between a
// connection starting it and that connection's backend dial ending.
class BusyThreadPool {
public:
    explicit BusyThreadPool(uv_loop_t* loop) {
        const char* size = std::getenv("UV_THREADPOOL_SIZE");
        blockers_.resize(size != nullptr ? static_cast<std::size_t>(std::atoi(size)) : 4);
        for (auto& work : blockers_) {
            work.data = this;
            uv_queue_work(loop, &work, [](uv_work_t* w) {
                auto* self = static_cast<BusyThreadPool*>(w->data);
                while (!self->released_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }, [](uv_work_t*, int) {});
        }
    }
    void release() { released_ = true; }

private:
    std::vector<uv_work_t> blockers_;
    std::atomic<bool> released_{false};
};

TEST_F(BackendAddressesTest, ARefreshOutlivesTheConnectionThatStartedIt) {
    auto backend = std::make_shared<BackendAddresses>("test", *conf::parse_backend_address("localhost:5060"),
                                                      conf::Duration{1});
    ASSERT_TRUE(ask(*backend).resolve);
    backend->store(one_address(), true);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    BusyThreadPool busy(&loop_);
    ASSERT_TRUE(ask(*backend).refresh);
    BackendResolution::refresh(*mailbox_, backend);  // nothing here holds it
    busy.release();
    for (int i = 0; i < 2000 && describe(backend->current(*mailbox_, wake_).addresses) == "127.0.0.3:5060"; ++i) {
        uv_run(&loop_, UV_RUN_NOWAIT);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_NE(describe(ask(*backend).addresses).find("127.0.0.1:5060"), std::string::npos);
}

TEST_F(BackendAddressesTest, ARefreshIsCancelledWhenItsLoopShutsDown) {
    auto backend = named(conf::Duration{1});
    ASSERT_TRUE(ask(*backend).resolve);
    backend->store(one_address(), true);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    BusyThreadPool busy(&loop_);
    ASSERT_TRUE(ask(*backend).refresh);
    BackendResolution::refresh(*mailbox_, backend);
    mailbox_->close();  // the worker stops: it does not wait for DNS
    busy.release();
    uv_run(&loop_, UV_RUN_DEFAULT);
    BackendAddresses::Snapshot after = ask(*backend);
    EXPECT_EQ(describe(after.addresses), "127.0.0.3:5060");
    EXPECT_TRUE(after.refresh);  // cancelled, not pending: a later connection refreshes again
}

}  // namespace
}  // namespace ocspgate::proxy
