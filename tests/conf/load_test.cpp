// load_string()/load_file(): defaults, typed values, and diagnostics for the document's
// shape (syntax, unknown keys, types, enums, ranges, required keys).
#include "conf/load.h"

#include <gtest/gtest.h>

#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "conf/address.h"
#include "load_fixture.h"

namespace ocspgate::conf::testing {
namespace {

using namespace std::chrono_literals;

// minimal_listener with its line `line` replaced by `replacement`: another line (the line numbers
// stay) or nothing (the line is dropped and those after it move up). A line the document lacks is
// a mistake in a test table, so it throws, stopping the test binary at start-up, rather than let
// a row check an unedited document.
std::string listener_replacing(std::string_view line, std::string_view replacement) {
    std::string document(minimal_listener);
    const std::string whole_line = std::string(line) + "\n";
    const std::size_t at = document.find(whole_line);
    if (at == std::string::npos) throw std::invalid_argument("not a line of minimal_listener");
    const std::string new_line = replacement.empty() ? "" : std::string(replacement) + "\n";
    return document.replace(at, whole_line.size(), new_line);
}

std::string listener_without(std::string_view line) { return listener_replacing(line, ""); }

// minimal_listener (lines 1-8) followed by `more_toml`, which starts at line 9.
std::string listener_and(std::string_view more_toml) {
    return std::string(minimal_listener) + std::string(more_toml);
}

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
    std::string text = listener_replacing(R"(certificate = "server.pem")",
                                          "certificate = \"" + file("server.pem").string() + "\"");
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
linger_timeout = "500ms"
linger_max_bytes = 1024
max_lingering = 7
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
nonce = "off"
max_response_age = "10m"
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
    EXPECT_EQ(config.server.linger_timeout, 500ms);
    EXPECT_EQ(config.server.linger_max_bytes, 1024u);
    EXPECT_EQ(config.server.max_lingering, 7u);
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
    EXPECT_EQ(ocsp.nonce, NonceMode::off);
    EXPECT_EQ(ocsp.max_response_age, 10min);
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

// A document the loader must reject with exactly one diagnostic, at the node at fault.
struct RejectedDocument {
    const char* name;  // the behaviour checked, as the test is named
    std::string toml;
    Expected diagnostic;  // line, column and a part of the message
};

void PrintTo(const RejectedDocument& row, std::ostream* out) { *out << row.name; }

// One row per way of getting the document's shape wrong: syntax, unknown keys, types, enums,
// durations, ranges, addresses, names and required keys.
const std::vector<RejectedDocument> rejected_documents = {
    {"SyntaxErrorIsReportedAtItsPosition", "[server]\nworkers = = 2\n",
     {2, 11, "TOML syntax error"}},
    {"RedefinedKeyIsASyntaxError", "[server]\nworkers = 2\nworkers = 3\n",
     {3, 11, "TOML syntax error"}},
    {"MisspeltKeyIsRejectedWithASuggestion", listener_and("verfy_client = \"none\"\n"),
     {9, 1, "listener[0].tls: unknown key \"verfy_client\" (did you mean \"verify_client\"?)"}},
    {"TablesForFutureFeaturesAreRejectedForNow",
     listener_and("[cluster]\npeers = [\"127.0.0.1:9000\"]\n"),
     {9, 2, "unknown key \"cluster\""}},
    {"WrongTypeNamesBothTypes", listener_and("[server]\nworkers = \"4\"\n"),
     {10, 11, "server.workers: expected an integer, got a string"}},
    {"FloatForAnIntegerIsRejected", listener_and("[server]\nmax_connections = 1.5\n"),
     {10, 19, "expected an integer, got a float"}},
    {"BadEnumValueListsTheAllowedOnes", listener_and("verify_client = \"maybe\"\n"),
     {9, 17,
      "listener[0].tls.verify_client: \"maybe\" is not one of \"required\", \"optional\", "
      "\"none\""}},
    {"EnumValuesAreCaseSensitive", listener_and("[server]\nlog_level = \"INFO\"\n"),
     {10, 13, "\"INFO\" is not one of \"debug\", \"info\", \"warn\", \"error\""}},
    {"BadDurationIsRejected", listener_and("[server]\nidle_timeout = \"15 minutes\"\n"),
     {10, 16, "server.idle_timeout: \"15 minutes\" is not a duration"}},
    {"DurationWrittenAsIntegerIsRejected", listener_and("[server]\nidle_timeout = 900\n"),
     {10, 16, "expected a duration string such as \"10s\", got an integer"}},
    {"ZeroTimeoutIsRejectedWhereItWouldFailEverything",
     listener_and("[server]\nhandshake_timeout = \"0s\"\n"),
     {10, 21, "server.handshake_timeout: must be longer than 0s"}},
    {"WorkersAbove256AreRejected", listener_and("[server]\nworkers = 257\n"),
     {10, 11, "server.workers: must be between 0 and 256, got 257"}},
    {"NegativeWorkersAreRejected", listener_and("[server]\nworkers = -1\n"),
     {10, 11, "must be between 0 and 256, got -1"}},
    {"ZeroMaxConnectionsIsRejected", listener_and("[server]\nmax_connections = 0\n"),
     {10, 19, "server.max_connections: must be between 1 and 4294967295, got 0"}},
    {"HostNameAddressIsRejected",
     listener_replacing(R"(listen = "127.0.0.1:5061")", R"(listen = "localhost:5061")"),
     {3, 10,
      "listener[0].listen: \"localhost:5061\" is not a valid address: numeric addresses only"}},
    {"PortZeroIsRejected",
     listener_replacing(R"(backend = "127.0.0.1:5060")", R"(backend = "127.0.0.1:0")"),
     {4, 11,
      "listener[0].backend: \"127.0.0.1:0\" is not a valid address: the port must be a number "
      "from 1 to 65535"}},
    {"MissingRequiredKeyPointsAtItsTable", listener_without(R"(listen = "127.0.0.1:5061")"),
     {1, 1, "listener[0]: missing required key \"listen\""}},
    {"MissingTlsTableIsReported", R"([[listener]]
name = "demo"
listen = "127.0.0.1:5061"
backend = "127.0.0.1:5060"
)",
     {1, 1, "listener[0]: missing required key \"tls\""}},
    {"DocumentWithoutListenerIsRejected", "[server]\nworkers = 2\n",
     {1, 1, "missing required key \"listener\""}},
    {"EmptyListenerArrayIsRejected", "listener = []\n",
     {1, 12, "listener: needs at least one entry"}},
    {"SingleBracketListenerTableIsRejected", "[listener]\nname = \"demo\"\n",
     {1, 1, "listener: expected an array of tables [[listener]], got a table"}},
    {"InvalidListenerNameIsRejected", listener_replacing(R"(name = "demo")", R"(name = "sip tls")"),
     {2, 8, "listener[0].name: \"sip tls\" is not a valid name"}},
};

class LoadRejectionTest : public LoadTest,
                          public ::testing::WithParamInterface<RejectedDocument> {};

TEST_P(LoadRejectionTest, ReportsOneDiagnosticAtTheFault) {
    expect_diagnostics(load(GetParam().toml), {GetParam().diagnostic});
}

INSTANTIATE_TEST_SUITE_P(DocumentShape, LoadRejectionTest, ::testing::ValuesIn(rejected_documents),
                         [](const ::testing::TestParamInfo<RejectedDocument>& param) {
                             return std::string(param.param.name);
                         });

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

TEST_F(LoadTest, ZeroDrainTimeoutIsAllowed) {
    LoadResult result = load_with_listener("[server]\ndrain_timeout = \"0s\"\n");
    EXPECT_TRUE(result.ok());
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
