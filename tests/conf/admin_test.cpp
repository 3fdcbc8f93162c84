// [admin]: absent means no admin endpoint; present (even empty) enables it with defaults.
#include <gtest/gtest.h>

#include "load_fixture.h"

namespace ocspgate::conf::testing {
namespace {

TEST_F(LoadTest, AdminIsDisabledWithoutItsTable) {
    LoadResult result = load(minimal_listener);
    ASSERT_TRUE(result.ok());
    EXPECT_FALSE(result.config->admin.enabled);
}

TEST_F(LoadTest, EmptyAdminTableEnablesItWithDefaults) {
    LoadResult result = load(std::string(minimal_listener) + "[admin]\n");
    ASSERT_TRUE(result.ok());
    const Admin& admin = result.config->admin;
    EXPECT_TRUE(admin.enabled);
    EXPECT_EQ(admin.listen.length, 0u);  // the default, 127.0.0.1:9901, is applied by the server
    EXPECT_EQ(admin.max_request_size, 8u * 1024);
}

TEST_F(LoadTest, AdminSettingsAreRead) {
    LoadResult result = load(std::string(minimal_listener) + R"([admin]
listen = "[::1]:9000"
max_request_size = 4096
)");
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.config->admin.listen.text, "[::1]:9000");
    EXPECT_EQ(result.config->admin.max_request_size, 4096u);
}

TEST_F(LoadTest, AdminMaxRequestSizeBelowMinimumIsRejected) {
    LoadResult result = load(std::string(minimal_listener) + "[admin]\nmax_request_size = 10\n");
    expect_diagnostics(result, {{10, 20, "256"}});
}

}  // namespace
}  // namespace ocspgate::conf::testing
