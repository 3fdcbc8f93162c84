#include "proxy/process/descriptors.h"

#include <gtest/gtest.h>

namespace ocspgate::proxy::process {
namespace {

TEST(Descriptors, TwoPerConnectionBesideTheReserve) {
    EXPECT_EQ(connections_that_fit(20000), 9872u);  // (20000 - 256) / 2
    EXPECT_EQ(descriptors_needed(9872), 20000u);
}

TEST(Descriptors, DefaultFitsAStockLimit) {
    EXPECT_EQ(default_max_connections(20000), 9872u);
    EXPECT_EQ(default_max_connections(1024), 384u);
    EXPECT_LE(descriptors_needed(default_max_connections(1024)), 1024u);
}

TEST(Descriptors, DefaultStaysAtTenThousandUnderAHighLimit) {
    EXPECT_EQ(default_max_connections(1048576), kDefaultMaxConnections);
    EXPECT_EQ(default_max_connections(UINT64_MAX), kDefaultMaxConnections);
}

TEST(Descriptors, ATinyLimitStillAllowsOneConnection) {
    EXPECT_EQ(connections_that_fit(100), 1u);
}

TEST(Descriptors, UnsetMaxConnectionsIsDerived) {
    conf::Server server;
    settle_max_connections(server, 4096, false);
    EXPECT_EQ(server.max_connections, 1920u);
}

TEST(Descriptors, ConfiguredMaxConnectionsIsKept) {
    conf::Server server;
    server.max_connections = 15000;
    settle_max_connections(server, 4096, false);
    EXPECT_EQ(server.max_connections, 15000u);
}

}  // namespace
}  // namespace ocspgate::proxy::process
