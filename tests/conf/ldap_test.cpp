// [listener.ldap] and the backend TLS keys (backend_tls, backend_ca, backend_server_name):
// defaults, values, and the rules that tie them to their protocol and to each other.
#include <gtest/gtest.h>

#include "load_fixture.h"

namespace ocspgate::conf::testing {
namespace {

// Lines 1-4; the test appends listener keys from line 5, then kTls.
constexpr std::string_view kHead = R"([[listener]]
name = "demo"
listen = "127.0.0.1:5061"
backend = "127.0.0.1:389"
)";

constexpr std::string_view kTls = R"([listener.tls]
certificate = "server.pem"
private_key = "server.key"
client_ca = "ca.pem"
)";

std::string listener(std::string_view keys, std::string_view after_tls = "") {
    return std::string(kHead) + std::string(keys) + std::string(kTls) + std::string(after_tls);
}

TEST_F(LoadTest, LdapSettingsDefault) {
    LoadResult result = load(listener("protocol = \"ldap-starttls\"\n"));
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.config->listeners.at(0).ldap.max_message_size, 1024u * 1024);
}

TEST_F(LoadTest, LdapSettingsAreRead) {
    LoadResult result = load(listener("protocol = \"ldap-starttls\"\n", "[listener.ldap]\nmax_message_size = 4096\n"));
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.config->listeners.at(0).ldap.max_message_size, 4096u);
}

TEST_F(LoadTest, LdapTableOnSipListenerIsRejected) {
    LoadResult result = load(listener("protocol = \"sip\"\n", "[listener.ldap]\nmax_message_size = 4096\n"));
    expect_diagnostics(result, {{10, 1, "listener[0].ldap: [listener.ldap] needs protocol = \"ldap-starttls\" or "
                                        "\"ldaps\", but protocol is \"sip\""}});
}

// An ldaps listener has no StartTLS phase; its [listener.ldap] only says how to answer for an
// unreachable backend.
TEST_F(LoadTest, LdapTableOnLdapsListenerTakesAnswerUnavailable) {
    LoadResult result = load(listener("protocol = \"ldaps\"\n", "[listener.ldap]\nanswer_unavailable = true\n"));
    ASSERT_TRUE(result.ok());
    EXPECT_TRUE(result.config->listeners.at(0).ldap.answer_unavailable);
}

TEST_F(LoadTest, RequireStarttlsTrueIsAccepted) {
    LoadResult result = load(listener("protocol = \"ldap-starttls\"\n", "[listener.ldap]\nrequire_starttls = true\n"));
    ASSERT_TRUE(result.ok());
    EXPECT_TRUE(result.config->listeners.at(0).ldap.require_starttls);
}

TEST_F(LoadTest, RequireStarttlsFalseIsRefusedAtItsKey) {
    LoadResult result = load(listener("protocol = \"ldap-starttls\"\n", "[listener.ldap]\nrequire_starttls = false\n"));
    ASSERT_FALSE(result.ok());
    ASSERT_EQ(result.diagnostics.size(), 1u);
    EXPECT_EQ(result.diagnostics[0].line, 11);
    EXPECT_NE(result.diagnostics[0].message.find("require_starttls = false is not supported"), std::string::npos);
}

TEST_F(LoadTest, BackendTlsKeysAreRead) {
    LoadResult result = load(listener("protocol = \"ldaps\"\nbackend_tls = true\nbackend_ca = \"ca.pem\"\n"
                                      "backend_server_name = \"ldap.example.org\"\n"));
    ASSERT_TRUE(result.ok());
    const Listener& l = result.config->listeners.at(0);
    EXPECT_TRUE(l.backend_tls);
    EXPECT_EQ(l.backend_ca, file("ca.pem"));
    EXPECT_EQ(l.backend_server_name, "ldap.example.org");
}

TEST_F(LoadTest, BackendTlsDefaultsOff) {
    LoadResult result = load(listener(""));
    ASSERT_TRUE(result.ok());
    EXPECT_FALSE(result.config->listeners.at(0).backend_tls);
    EXPECT_TRUE(result.config->listeners.at(0).backend_server_name.empty());
}

TEST_F(LoadTest, BackendTlsWithoutBackendCaIsRejected) {
    LoadResult result = load(listener("backend_tls = true\n"));
    expect_diagnostics(result, {{5, 15, "listener[0].backend_tls: backend_tls = true needs backend_ca"}});
}

TEST_F(LoadTest, BackendCaWithoutBackendTlsIsRejected) {
    LoadResult result = load(listener("backend_ca = \"ca.pem\"\n"));
    expect_diagnostics(result, {{5, 14, "listener[0].backend_ca: backend_ca needs backend_tls = true"}});
}

TEST_F(LoadTest, BackendServerNameWithSpacesIsRejected) {
    LoadResult result = load(listener("backend_tls = true\nbackend_ca = \"ca.pem\"\nbackend_server_name = \"a b\"\n"));
    expect_diagnostics(result, {{7, 23, "listener[0].backend_server_name: \"a b\" is not a DNS name or IP address"}});
}

TEST_F(LoadTest, BackendRevocationNeedsBackendTls) {
    LoadResult result = load(listener("backend_revocation = \"corp\"\n"));
    expect_diagnostics(result, {{5, 22, "listener[0].backend_revocation: backend_revocation needs backend_tls = true"},
                                {5, 22, "listener[0].backend_revocation: there is no [revocation.corp] profile"}});
}

TEST_F(LoadTest, BackendRevocationProfileMustExist) {
    LoadResult result = load(listener("backend_tls = true\nbackend_ca = \"ca.pem\"\nbackend_revocation = \"corp\"\n"));
    expect_diagnostics(result, {{7, 22, "listener[0].backend_revocation: there is no [revocation.corp] profile "
                                        "(none are defined)"}});
}

}  // namespace
}  // namespace ocspgate::conf::testing
