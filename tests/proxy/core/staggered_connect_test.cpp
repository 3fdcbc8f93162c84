#include "proxy/core/staggered_connect.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "proxy/core/socket_address.h"

namespace ocspgate::proxy {
namespace {

sockaddr_storage v4(const char* ip) {
    sockaddr_storage s{};
    auto& in = reinterpret_cast<sockaddr_in&>(s);
    in.sin_family = AF_INET;
    inet_pton(AF_INET, ip, &in.sin_addr);
    in.sin_port = htons(5060);
    return s;
}

sockaddr_storage v6(const char* ip) {
    sockaddr_storage s{};
    auto& in = reinterpret_cast<sockaddr_in6&>(s);
    in.sin6_family = AF_INET6;
    inet_pton(AF_INET6, ip, &in.sin6_addr);
    in.sin6_port = htons(5060);
    return s;
}

TEST(InterleaveFamilies, AlternatesStartingWithTheResolversFirstFamily) {
    AddressList in{v6("2001:db8::1"), v6("2001:db8::2"), v6("2001:db8::3"), v4("192.0.2.1"), v4("192.0.2.2")};
    EXPECT_EQ(describe(interleave_families(in)),
              "[2001:db8::1]:5060, 192.0.2.1:5060, [2001:db8::2]:5060, 192.0.2.2:5060, [2001:db8::3]:5060");
}

TEST(InterleaveFamilies, KeepsOneFamilysOrder) {
    AddressList in{v4("192.0.2.2"), v4("192.0.2.1")};
    EXPECT_EQ(describe(interleave_families(in)), "192.0.2.2:5060, 192.0.2.1:5060");
}

TEST(InterleaveFamilies, StartsWithIpv4WhenTheResolverPutsItFirst) {
    AddressList in{v4("192.0.2.1"), v6("2001:db8::1"), v6("2001:db8::2")};
    EXPECT_EQ(describe(interleave_families(in)), "192.0.2.1:5060, [2001:db8::1]:5060, [2001:db8::2]:5060");
}

TEST(InterleaveFamilies, EmptyStaysEmpty) { EXPECT_TRUE(interleave_families({}).empty()); }

// ---- on a real loop, loopback only -------------------------------------------------------

// A listening socket on 127.0.0.1 (backlog 16), or with `full`, one whose accept queue is full
// (backlog 0, one connection queued, never accepted): Linux then drops SYNs to it.
struct LoopbackListener {
    explicit LoopbackListener(bool full = false) {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        address = v4("127.0.0.1");
        reinterpret_cast<sockaddr_in&>(address).sin_port = 0;
        ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(sockaddr_in));
        socklen_t len = sizeof(sockaddr_in);
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &len);
        ::listen(fd, full ? 0 : 16);
        if (full) {
            filler = ::socket(AF_INET, SOCK_STREAM, 0);
            ::connect(filler, reinterpret_cast<sockaddr*>(&address), sizeof(sockaddr_in));
        }
    }
    ~LoopbackListener() {
        if (filler >= 0) ::close(filler);
        ::close(fd);
    }
    int fd = -1;
    int filler = -1;
    sockaddr_storage address{};
};

// A port on 127.0.0.1 where nothing listens (bound, never listening: connects are refused).
struct RefusedPort {
    RefusedPort() {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        address = v4("127.0.0.1");
        reinterpret_cast<sockaddr_in&>(address).sin_port = 0;
        ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(sockaddr_in));
        socklen_t len = sizeof(sockaddr_in);
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &len);
    }
    ~RefusedPort() { ::close(fd); }
    int fd = -1;
    sockaddr_storage address{};
};

struct Outcome {
    bool called = false;
    bool connected = false;
    std::string error;
    std::uint64_t at_ms = 0;
};

// Runs `loop` until `connect` reports or `limit_ms` passes; the connect object is then destroyed
// and the loop must end with nothing left open.
Outcome run(AddressList addresses, std::uint64_t limit_ms) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    Outcome outcome;
    std::uint64_t start = uv_now(&loop);
    std::unique_ptr<StaggeredConnect> connect =
        StaggeredConnect::start(&loop, std::move(addresses), [&](Result<uv_os_sock_t> socket) {
            outcome.called = true;
            outcome.at_ms = uv_now(&loop) - start;
            outcome.connected = static_cast<bool>(socket);
            if (socket) ::close(*socket);
            else outcome.error = socket.error().message;
            uv_stop(&loop);
        });
    uv_timer_t limit;
    uv_timer_init(&loop, &limit);
    uv_timer_start(&limit, [](uv_timer_t* t) { uv_stop(t->loop); }, limit_ms, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    connect.reset();
    uv_close(reinterpret_cast<uv_handle_t*>(&limit), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop), 0) << "a handle of the connect outlived it";
    return outcome;
}

TEST(StaggeredConnect, ARefusedAddressIsFollowedAtOnce) {
    RefusedPort refused;
    LoopbackListener listening;
    Outcome outcome = run({refused.address, listening.address}, 5000);
    ASSERT_TRUE(outcome.called);
    EXPECT_TRUE(outcome.connected) << outcome.error;
    EXPECT_LT(outcome.at_ms, kAttemptDelay.count());  // did not wait for the stagger timer
}

TEST(StaggeredConnect, APendingAddressIsFollowedAfterTheAttemptDelay) {
    LoopbackListener hole(true);
    LoopbackListener listening;
    Outcome outcome = run({hole.address, listening.address}, 5000);
    ASSERT_TRUE(outcome.called);
    EXPECT_TRUE(outcome.connected) << outcome.error;
    EXPECT_GE(outcome.at_ms + 5, static_cast<std::uint64_t>(kAttemptDelay.count()));  // timer slack
    EXPECT_LT(outcome.at_ms, 2000u);
}

TEST(StaggeredConnect, OneRefusedAddressReportsTheLibuvErrorName) {
    RefusedPort refused;
    Outcome outcome = run({refused.address}, 5000);
    ASSERT_TRUE(outcome.called);
    EXPECT_EQ(outcome.error, "ECONNREFUSED");
}

TEST(StaggeredConnect, SeveralFailedAddressesAreEachNamed) {
    RefusedPort a, b;
    Outcome outcome = run({a.address, b.address}, 5000);
    ASSERT_TRUE(outcome.called);
    EXPECT_EQ(outcome.error, describe({a.address}) + " ECONNREFUSED, " + describe({b.address}) + " ECONNREFUSED");
}

TEST(StaggeredConnect, NoAddressFailsFromACallback) {
    Outcome outcome = run({}, 5000);
    ASSERT_TRUE(outcome.called);
    EXPECT_EQ(outcome.error, "no address to connect to");
}

TEST(StaggeredConnect, DestroyedWhilePendingClosesEverythingAndNeverCallsBack) {
    LoopbackListener hole(true);
    LoopbackListener second_hole(true);
    Outcome outcome = run({hole.address, second_hole.address}, 400);  // both attempts pending
    EXPECT_FALSE(outcome.called);
}

}  // namespace
}  // namespace ocspgate::proxy
