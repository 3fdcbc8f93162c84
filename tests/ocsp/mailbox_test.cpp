#include "ocsp/mailbox.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <thread>
#include <vector>

namespace ocspgate::ocsp {
namespace {

// Each test runs the loop on its own thread (the test's); tasks only record what happened,
// and the assertions follow once uv_run has returned.
class MailboxTest : public ::testing::Test {
protected:
    MailboxTest() {
        uv_loop_init(&loop_);
        mailbox_.emplace(&loop_);
    }

    ~MailboxTest() override {
        mailbox_->close();  // idempotent: most tests closed it already
        uv_run(&loop_, UV_RUN_DEFAULT);
        mailbox_.reset();
        uv_loop_close(&loop_);
    }

    // Posts `task` from a thread of its own and waits for that thread to finish.
    void post_from_another_thread(std::function<void()> task) {
        std::thread poster([&] { mailbox_->post(std::move(task)); });
        poster.join();
    }

    uv_loop_t loop_{};
    std::optional<Mailbox> mailbox_;
};

TEST_F(MailboxTest, TaskPostedFromAnotherThreadRunsOnTheLoopThread) {
    std::optional<std::thread::id> ran_on;
    post_from_another_thread([&] {
        ran_on = std::this_thread::get_id();
        mailbox_->close();
    });
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST_F(MailboxTest, TasksRunInTheOrderPosted) {
    std::vector<int> order;
    std::thread poster([&] {
        mailbox_->post([&] { order.push_back(1); });
        mailbox_->post([&] { order.push_back(2); });
        mailbox_->post([&] {
            order.push_back(3);
            mailbox_->close();
        });
    });
    uv_run(&loop_, UV_RUN_DEFAULT);
    poster.join();
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST_F(MailboxTest, TaskPostedByATaskRunsOnALaterTurn) {
    bool second_ran = false;
    mailbox_->post([&] {
        mailbox_->post([&] {
            second_ran = true;
            mailbox_->close();
        });
    });
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_TRUE(second_ran);
}

TEST_F(MailboxTest, PostAfterCloseIsDropped) {
    bool ran = false;
    mailbox_->close();
    post_from_another_thread([&] { ran = true; });
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_FALSE(ran);
}

TEST_F(MailboxTest, CloseDropsTasksNotYetRun) {
    bool ran = false;
    post_from_another_thread([&] { ran = true; });
    mailbox_->close();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_FALSE(ran);
}

TEST_F(MailboxTest, OpenMailboxKeepsTheLoopAlive) {
    EXPECT_NE(uv_loop_alive(&loop_), 0);
}

TEST_F(MailboxTest, LoopEndsAfterClose) {
    mailbox_->close();
    // NOWAIT runs the close callback and returns whether anything still keeps the loop alive.
    EXPECT_EQ(uv_run(&loop_, UV_RUN_NOWAIT), 0);
}

// A hook that an earlier hook removed (its owner finished and is gone) must not run: the
// Redis connection's shutdown finishing a CRL download whose own hook came later.
TEST_F(MailboxTest, AHookRemovedByAnEarlierHookDuringCloseDoesNotRun) {
    std::vector<int> ran;
    std::uint64_t second = 0;
    mailbox_->add_close_hook([&] {
        ran.push_back(1);
        mailbox_->remove_close_hook(second);
    });
    second = mailbox_->add_close_hook([&] { ran.push_back(2); });
    mailbox_->add_close_hook([&] { ran.push_back(3); });
    mailbox_->close();
    EXPECT_EQ(ran, (std::vector<int>{1, 3}));
}

TEST_F(MailboxTest, ClosedSaysWhetherCloseHasRun) {
    EXPECT_FALSE(mailbox_->closed());
    mailbox_->close();
    EXPECT_TRUE(mailbox_->closed());
}

}  // namespace
}  // namespace ocspgate::ocsp
