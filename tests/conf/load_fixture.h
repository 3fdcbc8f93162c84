// Test support for load_string(): a temp folder holding valid PKI files, and an assertion
// on the exact diagnostics of a load.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "conf/load.h"
#include "test_files.h"

namespace ocspgate::conf::testing {

// Lines 1-8 of most test documents: one valid listener. Text appended starts at line 9.
inline constexpr std::string_view minimal_listener = R"([[listener]]
name = "demo"
listen = "127.0.0.1:5061"
backend = "127.0.0.1:5060"
[listener.tls]
certificate = "server.pem"
private_key = "server.key"
client_ca = "ca.pem"
)";

struct Expected {
    int line;
    int column;
    std::string message_part;  // a substring of the message
};

// Expects that `result` failed with exactly `expected`, in this order.
void expect_diagnostics(const LoadResult& result, const std::vector<Expected>& expected);

// Files in the folder: server.pem + server.key (a matching pair), ca.pem (a CA certificate),
// other.pem + other.key (a second pair). The document is "ocspgate.toml" in that folder.
class LoadTest : public ::testing::Test {
protected:
    LoadTest();

    LoadResult load(std::string_view toml_text) const;
    LoadResult load_with_listener(std::string_view more_toml) const;
    std::filesystem::path file(std::string_view relative) const { return dir_.path() / relative; }

    TempDir dir_;
    Identity server_ = make_identity("server");
    Identity ca_ = make_identity("clients-ca");
    Identity other_ = make_identity("other");
};

}  // namespace ocspgate::conf::testing
