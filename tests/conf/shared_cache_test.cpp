// [cache.shared]: the fleet's shared OCSP response cache. Off without the table; its URL is
// parsed into host, port, database or socket; rediss:// and credentials in the URL are refused.
#include <gtest/gtest.h>

#include <fstream>

#include "load_fixture.h"

namespace ocspgate::conf::testing {
namespace {

TEST_F(LoadTest, SharedCacheIsOffWithoutItsTable) {
    LoadResult result = load(minimal_listener);
    ASSERT_TRUE(result.ok());
    EXPECT_FALSE(result.config->cache.shared.enabled);
}

TEST_F(LoadTest, SharedCacheUrlAndDefaultsAreRead) {
    LoadResult result = load(std::string(minimal_listener) + "[cache.shared]\nurl = \"redis://redis.svc:6380/3\"\n");
    ASSERT_TRUE(result.ok());
    const auto& shared = result.config->cache.shared;
    EXPECT_TRUE(shared.enabled);
    EXPECT_EQ(shared.host, "redis.svc");
    EXPECT_EQ(shared.port, 6380);
    EXPECT_EQ(shared.database, 3);
    EXPECT_EQ(shared.key_prefix, "ocspgate:");
    EXPECT_EQ(shared.timeout, Duration(50));
    EXPECT_EQ(shared.max_ttl, Duration(3600 * 1000));
    EXPECT_EQ(shared.lease, Duration(0));  // no coalescing across instances unless asked for
    EXPECT_TRUE(shared.password.empty());
}

TEST_F(LoadTest, SharedCacheLeaseIsRead) {
    LoadResult result =
        load(std::string(minimal_listener) + "[cache.shared]\nurl = \"redis://127.0.0.1\"\nlease = \"200ms\"\n");
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.config->cache.shared.lease, Duration(200));
    EXPECT_FALSE(load(std::string(minimal_listener) + "[cache.shared]\nurl = \"redis://127.0.0.1\"\nlease = 200\n").ok());
}

TEST_F(LoadTest, SharedCacheTakesIpv6UnixSocketsAndDefaults) {
    LoadResult v6 = load(std::string(minimal_listener) + "[cache.shared]\nurl = \"redis://[::1]\"\n");
    ASSERT_TRUE(v6.ok());
    EXPECT_EQ(v6.config->cache.shared.host, "::1");
    EXPECT_EQ(v6.config->cache.shared.port, 6379);
    EXPECT_EQ(v6.config->cache.shared.database, 0);
    LoadResult unix_socket = load(std::string(minimal_listener) + "[cache.shared]\nurl = \"unix:/run/redis/redis.sock\"\n");
    ASSERT_TRUE(unix_socket.ok());
    EXPECT_EQ(unix_socket.config->cache.shared.unix_path, "/run/redis/redis.sock");
}

TEST_F(LoadTest, SharedCachePasswordComesFromItsFileFirstLine) {
    std::ofstream(file("redis.pass")) << "s3cret\nignored\n";
    LoadResult result = load(std::string(minimal_listener) +
                             "[cache.shared]\nurl = \"redis://127.0.0.1\"\nusername = \"gate\"\npassword_file = \"redis.pass\"\n");
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.config->cache.shared.username, "gate");
    EXPECT_EQ(result.config->cache.shared.password, "s3cret");
}

TEST_F(LoadTest, SharedCacheRedissSaysHiredisHasNoTlsAndNamesTheTunnel) {
    LoadResult result = load(std::string(minimal_listener) + "[cache.shared]\nurl = \"rediss://r:6380/0\"\n");
    expect_diagnostics(result, {{10, 7, "Debian 12's hiredis 0.14 is built without TLS"}});
    expect_diagnostics(result, {{10, 7, "tunnel"}});
}

TEST_F(LoadTest, SharedCacheRefusesBadUrls) {
    expect_diagnostics(load(std::string(minimal_listener) + "[cache.shared]\nurl = \"redis://u:p@r:6379\"\n"),
                       {{10, 7, "no credentials in the URL"}});
    expect_diagnostics(load(std::string(minimal_listener) + "[cache.shared]\nurl = \"redis://r:99999\"\n"),
                       {{10, 7, "port"}});
    expect_diagnostics(load(std::string(minimal_listener) + "[cache.shared]\nurl = \"memcached://r\"\n"),
                       {{10, 7, "expected \"redis://HOST:PORT/DB\""}});
    expect_diagnostics(load(std::string(minimal_listener) + "[cache.shared]\nurl = \"unix:run/redis.sock\"\n"),
                       {{10, 7, "absolute"}});
    expect_diagnostics(load(std::string(minimal_listener) + "[cache.shared]\ntimeout = \"10ms\"\n"),
                       {{9, 1, "missing required key \"url\""}});
    expect_diagnostics(load(std::string(minimal_listener) +
                            "[cache.shared]\nurl = \"redis://r\"\npassword_file = \"absent.pass\"\n"),
                       {{11, 17, "cannot read"}});
}

}  // namespace
}  // namespace ocspgate::conf::testing
