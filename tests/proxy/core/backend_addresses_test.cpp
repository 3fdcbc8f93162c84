#include "proxy/core/backend_addresses.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "conf/address.h"

namespace ocspgate::proxy {
namespace {

BackendAddresses named(conf::Duration interval) {
    return BackendAddresses("test", *conf::parse_backend_address("sip-core.test:5060"), interval);
}

AddressList one_address() { return {conf::parse_address("127.0.0.3:5060")->storage}; }

TEST(BackendAddresses, ANumericBackendIsItsOneAddressAndNeverRefreshed) {
    BackendAddresses numeric("test", *conf::parse_backend_address("127.0.0.1:5060"), conf::Duration{1});
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    BackendAddresses::Snapshot now = numeric.current();
    EXPECT_EQ(describe(now.addresses), "127.0.0.1:5060");
    EXPECT_FALSE(now.refresh);
    numeric.forget();
    EXPECT_EQ(numeric.current().addresses.size(), 1u);
}

TEST(BackendAddresses, ANameStartsWithNoAddressesAndNoRefreshClaim) {
    BackendAddresses backend = named(conf::Duration{30000});
    BackendAddresses::Snapshot now = backend.current();
    EXPECT_TRUE(now.addresses.empty());
    EXPECT_FALSE(now.refresh);  // the caller resolves and waits itself
}

TEST(BackendAddresses, StaleAddressesAreRefreshedByExactlyOneCaller) {
    BackendAddresses backend = named(conf::Duration{20});
    backend.store(one_address());
    EXPECT_FALSE(backend.current().refresh);  // fresh
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    BackendAddresses::Snapshot first = backend.current();
    BackendAddresses::Snapshot second = backend.current();
    EXPECT_TRUE(first.refresh);
    EXPECT_FALSE(second.refresh);
    EXPECT_EQ(describe(second.addresses), "127.0.0.3:5060");  // still used meanwhile
    backend.store(one_address());
    EXPECT_FALSE(backend.current().refresh);
}

TEST(BackendAddresses, AFailedRefreshKeepsTheAddressesForAnotherInterval) {
    BackendAddresses backend = named(conf::Duration{20});
    backend.store(one_address());
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ASSERT_TRUE(backend.current().refresh);
    backend.store(make_error(Errc::io, "cannot resolve"));
    BackendAddresses::Snapshot now = backend.current();
    EXPECT_EQ(describe(now.addresses), "127.0.0.3:5060");
    EXPECT_FALSE(now.refresh);  // not at every connection while the resolver is down
}

TEST(BackendAddresses, ACancelledRefreshLetsTheNextCallerClaimIt) {
    BackendAddresses backend = named(conf::Duration{20});
    backend.store(one_address());
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ASSERT_TRUE(backend.current().refresh);
    backend.release_refresh();
    EXPECT_TRUE(backend.current().refresh);
}

TEST(BackendAddresses, ForgetMakesTheNextConnectionResolve) {
    BackendAddresses backend = named(conf::Duration{30000});
    backend.store(one_address());
    backend.forget();
    EXPECT_TRUE(backend.current().addresses.empty());
}

}  // namespace
}  // namespace ocspgate::proxy
