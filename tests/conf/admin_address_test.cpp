// read_admin_address(): `ocspgate status` finds the admin endpoint from [admin] alone.
#include "conf/admin_address.h"

#include <gtest/gtest.h>

#include "load_fixture.h"

namespace ocspgate::conf::testing {
namespace {

TEST_F(LoadTest, AdminAddressIsReadWithoutCheckingTheRest) {
    // The listener's files do not exist: a full load would fail, this must not care.
    dir_.write("a.toml", "[[listener]]\nname = \"x\"\n[listener.tls]\ncertificate = \"missing.pem\"\n"
                         "[admin]\nlisten = \"127.0.0.1:9555\"\n");
    auto address = read_admin_address(file("a.toml"));
    ASSERT_TRUE(address.ok()) << address.error().message;
    EXPECT_EQ(address->value(), "127.0.0.1:9555");
}

TEST_F(LoadTest, AdminAddressDefaultsForAnEmptyTableAndIsAbsentWithout) {
    dir_.write("empty.toml", "[admin]\n");
    dir_.write("none.toml", "[server]\n");
    EXPECT_EQ(read_admin_address(file("empty.toml"))->value(), "127.0.0.1:9901");
    EXPECT_FALSE(read_admin_address(file("none.toml"))->has_value());
}

TEST_F(LoadTest, AdminAddressRejectsBadValuesAndBadFiles) {
    dir_.write("bad.toml", "[admin]\nlisten = \"localhost:9\"\n");
    dir_.write("broken.toml", "[admin\n");
    EXPECT_FALSE(read_admin_address(file("bad.toml")).ok());
    EXPECT_FALSE(read_admin_address(file("broken.toml")).ok());
    EXPECT_FALSE(read_admin_address(file("absent.toml")).ok());
}

}  // namespace
}  // namespace ocspgate::conf::testing
