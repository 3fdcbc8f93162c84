// load_string()/load_file(): defaults, typed values, and diagnostics for the document's
// shape (syntax, unknown keys, types, enums, ranges, required keys).
#include "conf/load.h"

#include <gtest/gtest.h>

#include "conf/address.h"
#include "load_fixture.h"

namespace ocspgate::conf::testing {
namespace {

using namespace std::chrono_literals;

TEST_F(LoadTest, MinimalListenerLoadsWithDefaults) {
    LoadResult result = load(minimal_listener);
    ASSERT_TRUE(result.ok()) << (result.diagnostics.empty() ? "" : format(result.diagnostics[0]));
    const Config& config = *result.config;
    EXPECT_EQ(config.server.workers, 1u);
    EXPECT_EQ(config.server.handshake_timeout, 10s);
    EXPECT_EQ(config.server.idle_timeout, 15min);
    EXPECT_EQ(config.server.log_format, LogFormat::text);
    ASSERT_EQ(config.listeners.size(), 1u);
    const Listener& listener = config.listeners[0];
    EXPECT_EQ(listener.name, "demo");
    EXPECT_EQ(listener.protocol, Protocol::tcp);
    EXPECT_EQ(listener.listen.text, "127.0.0.1:5061");
    EXPECT_EQ(listener.connect_timeout, 5s);
    EXPECT_FALSE(listener.revocation.has_value());
    EXPECT_EQ(listener.tls.verify_client, VerifyClient::required);
    EXPECT_EQ(listener.tls.min_version, TlsVersion::v1_2);
    EXPECT_TRUE(config.revocation.empty());
}

TEST_F(LoadTest, RelativePathsResolveAgainstTheConfigFolder) {
    LoadResult result = load(minimal_listener);
    ASSERT_TRUE(result.ok());
    const TlsSettings& tls = result.config->listeners[0].tls;
    EXPECT_EQ(tls.certificate, file("server.pem"));
    EXPECT_EQ(tls.private_key, file("server.key"));
    EXPECT_EQ(tls.client_ca, file("ca.pem"));
    EXPECT_EQ(result.config->source, file("ocspgate.toml"));
}

TEST_F(LoadTest, AbsolutePathsAreKept) {
    std::string text = R"([[listener]]
name = "demo"
listen = "127.0.0.1:5061"
backend = "127.0.0.1:5060"
[listener.tls]
certificate = ")" + file("server.pem").string() + R"("
private_key = "server.key"
client_ca = "ca.pem"
)";
    LoadResult result = load_string(text, "relative/elsewhere.toml");
    expect_diagnostics(result, {{7, 15, "cannot read"}, {8, 13, "cannot read"}});
}

TEST_F(LoadTest, EveryDocumentedKeyIsAccepted) {
    dir_.write("crl.pem", crl_pem(ca_));
    LoadResult result = load(R"([server]
workers = 4
handshake_timeout = "8s"
idle_timeout = "1h"
drain_timeout = "0s"
max_connections = 500
log_format = "json"
log_level = "debug"

[[listener]]
name = "sip-tls"
protocol = "sip"
listen = "[::1]:5061"
backend = "127.0.0.1:5060"
connect_timeout = "250ms"
revocation = "corp"
[listener.tls]
certificate = "server.pem"
private_key = "server.key"
client_ca = "ca.pem"
verify_client = "optional"
min_version = "1.3"

[revocation.corp]
methods = ["ocsp", "crl", "none"]
check = "chain"
unknown = "next"
recheck_interval = "15m"
[revocation.corp.ocsp]
responders = ["http://127.0.0.1:8888", "https://ocsp.example.com/ca2"]
use_aia = false
prefer = "configured"
nonce = false
request = "get"
timeout = "2s"
responder_trust = ["ca.pem"]
tls_certificate = "other.pem"
tls_private_key = "other.key"
cache_entries = 500
max_cache_ttl = "30m"
error_cache_ttl = "10s"
clock_skew = "1m"
max_age = "2d"
stale_if_error = "1h"
max_response_size = 4096
[[revocation.corp.ocsp.issuer]]
certificate = "ca.pem"
responders = ["http://127.0.0.1:8889"]
[revocation.corp.crl]
urls = ["http://crl.example.com/ca.crl"]
files = ["crl.pem"]
timeout = "1m"
max_size = 1048576
)");
    ASSERT_TRUE(result.ok()) << format(result.diagnostics.at(0));
    const Config& config = *result.config;
    EXPECT_EQ(config.server.workers, 4u);
    EXPECT_EQ(config.server.drain_timeout, 0s);
    EXPECT_EQ(config.server.max_connections, 500u);
    EXPECT_EQ(config.server.log_format, LogFormat::json);
    EXPECT_EQ(config.server.log_level, LogLevel::debug);
    const Listener& listener = config.listeners.at(0);
    EXPECT_EQ(listener.protocol, Protocol::sip);
    EXPECT_EQ(listener.listen.storage.ss_family, AF_INET6);
    EXPECT_EQ(listener.connect_timeout, 250ms);
    EXPECT_EQ(listener.revocation, "corp");
    EXPECT_EQ(listener.tls.verify_client, VerifyClient::optional);
    EXPECT_EQ(listener.tls.min_version, TlsVersion::v1_3);
    const RevocationProfile& profile = config.revocation.at("corp");
    EXPECT_EQ(profile.name, "corp");
    EXPECT_EQ(profile.methods, (std::vector{RevocationMethod::ocsp, RevocationMethod::crl,
                                            RevocationMethod::none}));
    EXPECT_EQ(profile.check, CheckScope::chain);
    EXPECT_EQ(profile.unknown, UnknownPolicy::next);
    EXPECT_EQ(profile.recheck_interval, 15min);
    const OcspSettings& ocsp = profile.ocsp;
    EXPECT_EQ(ocsp.responders.size(), 2u);
    EXPECT_FALSE(ocsp.use_aia);
    EXPECT_FALSE(ocsp.nonce);
    EXPECT_EQ(ocsp.request, OcspRequestMethod::get);
    EXPECT_EQ(ocsp.responder_trust, std::vector{file("ca.pem")});
    EXPECT_EQ(ocsp.tls_private_key, file("other.key"));
    EXPECT_EQ(ocsp.cache_entries, 500u);
    EXPECT_EQ(ocsp.max_age, 48h);
    EXPECT_EQ(ocsp.stale_if_error, 1h);
    EXPECT_EQ(ocsp.max_response_size, 4096u);
    ASSERT_EQ(ocsp.issuers.size(), 1u);
    EXPECT_EQ(ocsp.issuers[0].certificate, file("ca.pem"));
    EXPECT_EQ(ocsp.issuers[0].responders, std::vector<std::string>{"http://127.0.0.1:8889"});
    EXPECT_EQ(profile.crl.files, std::vector{file("crl.pem")});
    EXPECT_EQ(profile.crl.timeout, 1min);
    EXPECT_EQ(profile.crl.max_size, 1048576u);
}

TEST_F(LoadTest, SyntaxErrorIsReportedAtItsPosition) {
    LoadResult result = load("[server]\nworkers = = 2\n");
    expect_diagnostics(result, {{2, 11, "TOML syntax error"}});
}

TEST_F(LoadTest, RedefinedKeyIsASyntaxError) {
    LoadResult result = load("[server]\nworkers = 2\nworkers = 3\n");
    expect_diagnostics(result, {{3, 11, "TOML syntax error"}});
}

TEST_F(LoadTest, MisspeltKeyIsRejectedWithASuggestion) {
    LoadResult result = load_with_listener("verfy_client = \"none\"\n");
    expect_diagnostics(result, {{9, 1, "listener[0].tls: unknown key \"verfy_client\" (did you "
                                       "mean \"verify_client\"?)"}});
}

TEST_F(LoadTest, UnknownKeyFarFromAnyKnownOneHasNoSuggestion) {
    LoadResult result = load_with_listener("[server]\ncolour = \"blue\"\n");
    ASSERT_EQ(result.diagnostics.size(), 1u);
    EXPECT_EQ(result.diagnostics[0].message, "server: unknown key \"colour\"");
}

TEST_F(LoadTest, UnknownKeysAreReportedAtEveryLevel) {
    LoadResult result = load(R"(shoe = 1
[server]
shoe = 1
[[listener]]
name = "demo"
listen = "127.0.0.1:5061"
backend = "127.0.0.1:5060"
shoe = 1
[listener.tls]
certificate = "server.pem"
private_key = "server.key"
client_ca = "ca.pem"
shoe = 1
[revocation.corp]
shoe = 1
[revocation.corp.ocsp]
use_aia = true
shoe = 1
[[revocation.corp.ocsp.issuer]]
certificate = "ca.pem"
responders = ["http://127.0.0.1:8889"]
shoe = 1
[revocation.corp.crl]
shoe = 1
)");
    expect_diagnostics(result, {
                                   {1, 1, "unknown key \"shoe\""},
                                   {3, 1, "server: unknown key"},
                                   {8, 1, "listener[0]: unknown key"},
                                   {13, 1, "listener[0].tls: unknown key"},
                                   {15, 1, "revocation.corp: unknown key"},
                                   {18, 1, "revocation.corp.ocsp: unknown key"},
                                   {22, 1, "revocation.corp.ocsp.issuer[0]: unknown key"},
                                   {24, 1, "revocation.corp.crl: unknown key"},
                               });
}

TEST_F(LoadTest, TablesForFutureFeaturesAreRejectedForNow) {
    LoadResult result = load_with_listener("[cluster]\npeers = [\"127.0.0.1:9000\"]\n");
    expect_diagnostics(result, {{9, 2, "unknown key \"cluster\""}});
}

TEST_F(LoadTest, WrongTypeNamesBothTypes) {
    LoadResult result = load_with_listener("[server]\nworkers = \"4\"\n");
    expect_diagnostics(result, {{10, 11, "server.workers: expected an integer, got a string"}});
}

TEST_F(LoadTest, FloatForAnIntegerIsRejected) {
    LoadResult result = load_with_listener("[server]\nmax_connections = 1.5\n");
    expect_diagnostics(result, {{10, 19, "expected an integer, got a float"}});
}

TEST_F(LoadTest, BadEnumValueListsTheAllowedOnes) {
    LoadResult result = load_with_listener("verify_client = \"maybe\"\n");
    expect_diagnostics(result, {{9, 17, "listener[0].tls.verify_client: \"maybe\" is not one of "
                                        "\"required\", \"optional\", \"none\""}});
}

TEST_F(LoadTest, EnumValuesAreCaseSensitive) {
    LoadResult result = load_with_listener("[server]\nlog_level = \"INFO\"\n");
    expect_diagnostics(result, {{10, 13, "\"INFO\" is not one of \"debug\", \"info\", \"warn\", "
                                         "\"error\""}});
}

TEST_F(LoadTest, BadDurationIsRejected) {
    LoadResult result = load_with_listener("[server]\nidle_timeout = \"15 minutes\"\n");
    expect_diagnostics(result, {{10, 16, "server.idle_timeout: \"15 minutes\" is not a duration"}});
}

TEST_F(LoadTest, DurationWrittenAsIntegerIsRejected) {
    LoadResult result = load_with_listener("[server]\nidle_timeout = 900\n");
    expect_diagnostics(result, {{10, 16, "expected a duration string such as \"10s\", got an "
                                         "integer"}});
}

TEST_F(LoadTest, ZeroTimeoutIsRejectedWhereItWouldFailEverything) {
    LoadResult result = load_with_listener("[server]\nhandshake_timeout = \"0s\"\n");
    expect_diagnostics(result, {{10, 21, "server.handshake_timeout: must be longer than 0s"}});
}

TEST_F(LoadTest, ZeroDrainTimeoutIsAllowed) {
    LoadResult result = load_with_listener("[server]\ndrain_timeout = \"0s\"\n");
    EXPECT_TRUE(result.ok());
}

TEST_F(LoadTest, WorkersAbove256AreRejected) {
    LoadResult result = load_with_listener("[server]\nworkers = 257\n");
    expect_diagnostics(result, {{10, 11, "server.workers: must be between 0 and 256, got 257"}});
}

TEST_F(LoadTest, NegativeWorkersAreRejected) {
    LoadResult result = load_with_listener("[server]\nworkers = -1\n");
    expect_diagnostics(result, {{10, 11, "must be between 0 and 256, got -1"}});
}

TEST_F(LoadTest, ZeroMaxConnectionsIsRejected) {
    LoadResult result = load_with_listener("[server]\nmax_connections = 0\n");
    expect_diagnostics(result, {{10, 19, "server.max_connections: must be between 1 and "
                                         "4294967295, got 0"}});
}

TEST_F(LoadTest, HostNameAddressIsRejected) {
    LoadResult result = load(R"([[listener]]
name = "demo"
listen = "localhost:5061"
backend = "127.0.0.1:5060"
[listener.tls]
certificate = "server.pem"
private_key = "server.key"
client_ca = "ca.pem"
)");
    expect_diagnostics(result, {{3, 10, "listener[0].listen: \"localhost:5061\" is not a valid "
                                        "address: numeric addresses only"}});
}

TEST_F(LoadTest, PortZeroIsRejected) {
    LoadResult result = load(R"([[listener]]
name = "demo"
listen = "127.0.0.1:5061"
backend = "127.0.0.1:0"
[listener.tls]
certificate = "server.pem"
private_key = "server.key"
client_ca = "ca.pem"
)");
    expect_diagnostics(result, {{4, 11, "listener[0].backend: \"127.0.0.1:0\" is not a valid "
                                        "address: the port must be a number from 1 to 65535"}});
}

TEST_F(LoadTest, MissingRequiredKeyPointsAtItsTable) {
    LoadResult result = load(R"([[listener]]
name = "demo"
backend = "127.0.0.1:5060"
[listener.tls]
certificate = "server.pem"
private_key = "server.key"
client_ca = "ca.pem"
)");
    expect_diagnostics(result, {{1, 1, "listener[0]: missing required key \"listen\""}});
}

TEST_F(LoadTest, MissingTlsTableIsReported) {
    LoadResult result = load(R"([[listener]]
name = "demo"
listen = "127.0.0.1:5061"
backend = "127.0.0.1:5060"
)");
    expect_diagnostics(result, {{1, 1, "listener[0]: missing required key \"tls\""}});
}

TEST_F(LoadTest, DocumentWithoutListenerIsRejected) {
    LoadResult result = load("[server]\nworkers = 2\n");
    expect_diagnostics(result, {{1, 1, "missing required key \"listener\""}});
}

TEST_F(LoadTest, EmptyListenerArrayIsRejected) {
    LoadResult result = load("listener = []\n");
    expect_diagnostics(result, {{1, 12, "listener: needs at least one entry"}});
}

TEST_F(LoadTest, SingleBracketListenerTableIsRejected) {
    LoadResult result = load("[listener]\nname = \"demo\"\n");
    expect_diagnostics(result, {{1, 1, "listener: expected an array of tables [[listener]], got "
                                       "a table"}});
}

TEST_F(LoadTest, EveryProblemIsReportedInDocumentOrder) {
    LoadResult result = load(R"([server]
workers = 1000
log_format = "xml"
[[listener]]
name = "demo"
listen = "127.0.0.1"
backend = "127.0.0.1:5060"
[listener.tls]
certificate = "server.pem"
private_key = "server.key"
client_ca = "ca.pem"
verify_client = "sometimes"
)");
    expect_diagnostics(result, {
                                   {2, 11, "server.workers"},
                                   {3, 14, "server.log_format"},
                                   {6, 10, "listener[0].listen: \"127.0.0.1\" is not a valid "
                                           "address: missing \":PORT\""},
                                   {12, 17, "listener[0].tls.verify_client"},
                               });
}

TEST_F(LoadTest, InvalidListenerNameIsRejected) {
    LoadResult result = load(R"([[listener]]
name = "sip tls"
listen = "127.0.0.1:5061"
backend = "127.0.0.1:5060"
[listener.tls]
certificate = "server.pem"
private_key = "server.key"
client_ca = "ca.pem"
)");
    expect_diagnostics(result, {{2, 8, "listener[0].name: \"sip tls\" is not a valid name"}});
}

TEST_F(LoadTest, LoadFileReadsTheFileAndResolvesAgainstItsFolder) {
    std::filesystem::path path = dir_.write("ocspgate.toml", minimal_listener);
    LoadResult result = load_file(path);
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.config->listeners[0].tls.certificate, file("server.pem"));
}

TEST_F(LoadTest, LoadFileReportsAMissingFileWithoutPosition) {
    std::filesystem::path path = file("absent.toml");
    LoadResult result = load_file(path);
    expect_diagnostics(result, {{0, 0, "No such file or directory"}});
    EXPECT_EQ(result.diagnostics[0].file, path.string());
}

TEST(FormatDiagnostic, LooksLikeACompilerError) {
    EXPECT_EQ(format(Diagnostic{"etc/ocspgate.toml", 12, 7, "server.workers: oops"}),
              "etc/ocspgate.toml:12:7: server.workers: oops");
}

TEST(FormatDiagnostic, SaysWarningBeforeTheMessageOfAWarning) {
    Diagnostic warning{"etc/ocspgate.toml", 12, 7, "listener[0].x: careful"};
    warning.severity = Severity::warning;
    EXPECT_EQ(format(warning), "etc/ocspgate.toml:12:7: warning: listener[0].x: careful");
}

TEST(FormatDiagnostic, OmitsThePositionWhenThereIsNone) {
    EXPECT_EQ(format(Diagnostic{"etc/ocspgate.toml", 0, 0, "cannot read"}),
              "etc/ocspgate.toml: cannot read");
}

TEST_F(LoadTest, DiagnosticsNameTheFileAsGiven) {
    LoadResult result = load_string("[server]\nworkers = 999\n", "etc/x.toml");
    ASSERT_EQ(result.diagnostics.size(), 2u);
    EXPECT_EQ(format(result.diagnostics[0]), "etc/x.toml:1:1: missing required key \"listener\"");
    EXPECT_EQ(format(result.diagnostics[1]),
              "etc/x.toml:2:11: server.workers: must be between 0 and 256, got 999");
}

}  // namespace
}  // namespace ocspgate::conf::testing
