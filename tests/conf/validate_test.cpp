// Rules across keys and tables: unique listeners, existing profiles, revocation methods and
// OCSP responder settings.
#include <gtest/gtest.h>

#include "load_fixture.h"

namespace ocspgate::conf::testing {
namespace {

// Appends a second listener after minimal_listener (lines 9-16).
std::string second_listener(std::string_view name, std::string_view listen) {
    return "[[listener]]\nname = \"" + std::string(name) + "\"\nlisten = \"" + std::string(listen) +
           "\"\nbackend = \"127.0.0.1:5060\"\n[listener.tls]\ncertificate = \"server.pem\"\n"
           "private_key = \"server.key\"\nclient_ca = \"ca.pem\"\n";
}

TEST_F(LoadTest, DuplicateListenerNamesAreRejected) {
    LoadResult result = load_with_listener(second_listener("demo", "127.0.0.1:5062"));
    expect_diagnostics(result, {{10, 8, "listener[1].name: listener name \"demo\" is already used "
                                        "by listener[0] (line 2)"}});
}

TEST_F(LoadTest, DuplicateListenAddressesAreRejected) {
    LoadResult result = load_with_listener(second_listener("other", "127.0.0.1:5061"));
    expect_diagnostics(result, {{11, 10, "listener[1].listen: \"127.0.0.1:5061\" is already the "
                                         "listen address of listener[0] (line 3)"}});
}

TEST_F(LoadTest, SameAddressWrittenDifferentlyIsADuplicate) {
    std::string text = R"([[listener]]
name = "a"
listen = "[::1]:5061"
backend = "127.0.0.1:5060"
[listener.tls]
certificate = "server.pem"
private_key = "server.key"
verify_client = "none"
[[listener]]
name = "b"
listen = "[0:0::1]:5061"
backend = "127.0.0.1:5060"
[listener.tls]
certificate = "server.pem"
private_key = "server.key"
verify_client = "none"
)";
    LoadResult result = load(text);
    expect_diagnostics(result, {{11, 10, "is already the listen address of listener[0]"}});
}

TEST_F(LoadTest, ListenersOnDifferentPortsAreAccepted) {
    LoadResult result = load_with_listener(second_listener("other", "127.0.0.1:5062"));
    EXPECT_TRUE(result.ok());
}

TEST_F(LoadTest, UnknownRevocationProfileIsRejected) {
    LoadResult result = load(R"([[listener]]
name = "demo"
listen = "127.0.0.1:5061"
backend = "127.0.0.1:5060"
revocation = "x"
[listener.tls]
certificate = "server.pem"
private_key = "server.key"
client_ca = "ca.pem"
[revocation.corp]
)");
    expect_diagnostics(result, {{5, 14, "listener[0].revocation: there is no [revocation.x] "
                                        "profile (defined: \"corp\")"}});
}

TEST_F(LoadTest, RevocationWithoutClientVerificationIsRejected) {
    LoadResult result = load(R"([[listener]]
name = "demo"
listen = "127.0.0.1:5061"
backend = "127.0.0.1:5060"
revocation = "corp"
[listener.tls]
certificate = "server.pem"
private_key = "server.key"
verify_client = "none"
[revocation.corp]
)");
    expect_diagnostics(result, {{5, 14, "listener[0].revocation: a revocation profile needs "
                                        "client certificates, but tls.verify_client is \"none\""}});
}

// A listener with a revocation profile and the given verify_client (lines 1-10).
std::string revocation_listener(std::string_view verify_client) {
    return R"([[listener]]
name = "phones"
listen = "127.0.0.1:5061"
backend = "127.0.0.1:5060"
revocation = "corp"
[listener.tls]
certificate = "server.pem"
private_key = "server.key"
client_ca = "ca.pem"
verify_client = ")" + std::string(verify_client) + "\"\n[revocation.corp]\n";
}

TEST_F(LoadTest, OptionalClientCertificateWithRevocationLoadsWithAWarning) {
    LoadResult result = load(revocation_listener("optional"));
    ASSERT_TRUE(result.ok()) << format(result.diagnostics.at(0));
    ASSERT_EQ(result.warnings.size(), 1u);
    const Diagnostic& warning = result.warnings[0];
    EXPECT_EQ(warning.severity, Severity::warning);
    EXPECT_EQ(format(warning),
              file("ocspgate.toml").string() +
                  ":10:17: warning: listener[0].tls.verify_client: on listener \"phones\", clients "
                  "that send no certificate are not revocation-checked: verify_client = "
                  "\"optional\" lets them through without the [revocation.corp] check; set "
                  "verify_client = \"required\" to check every client");
}

TEST_F(LoadTest, RequiredClientCertificateWithRevocationHasNoWarning) {
    LoadResult result = load(revocation_listener("required"));
    ASSERT_TRUE(result.ok()) << format(result.diagnostics.at(0));
    EXPECT_TRUE(result.warnings.empty());
}

TEST_F(LoadTest, OptionalClientCertificateWithoutRevocationHasNoWarning) {
    LoadResult result = load_with_listener("verify_client = \"optional\"\n");
    ASSERT_TRUE(result.ok()) << format(result.diagnostics.at(0));
    EXPECT_TRUE(result.warnings.empty());
}

TEST_F(LoadTest, WarningsAreReportedBesideErrors) {
    LoadResult result = load(revocation_listener("optional") + "[server]\nworkers = 999\n");
    expect_diagnostics(result, {{13, 11, "server.workers: must be between 0 and 256"}});
    ASSERT_EQ(result.warnings.size(), 1u);
    EXPECT_EQ(result.warnings[0].line, 10);
}

TEST_F(LoadTest, EmptyProfileUsesOcspViaAiaByDefault) {
    LoadResult result = load_with_listener("[revocation.corp]\n");
    ASSERT_TRUE(result.ok());
    const RevocationProfile& profile = result.config->revocation.at("corp");
    EXPECT_EQ(profile.name, "corp");
    EXPECT_EQ(profile.methods, std::vector{RevocationMethod::ocsp});
    EXPECT_EQ(profile.unknown, UnknownPolicy::revoked);
    EXPECT_TRUE(profile.ocsp.use_aia);
}

TEST_F(LoadTest, EmptyMethodsListIsRejected) {
    LoadResult result = load_with_listener("[revocation.corp]\nmethods = []\n");
    expect_diagnostics(result, {{10, 11, "revocation.corp.methods: must not be empty"}});
}

TEST_F(LoadTest, DuplicateMethodIsRejected) {
    LoadResult result =
        load_with_listener("[revocation.corp]\nmethods = [\"ocsp\", \"crl\", \"ocsp\"]\n");
    expect_diagnostics(result, {{10, 27, "revocation.corp.methods[2]: \"ocsp\" is listed twice"}});
}

TEST_F(LoadTest, UnknownMethodIsRejected) {
    LoadResult result =
        load_with_listener("[revocation.corp]\nmethods = [\"ocsp\", \"stapling\"]\n");
    expect_diagnostics(result, {{10, 20, "revocation.corp.methods[1]: \"stapling\" is not one of "
                                         "\"ocsp\", \"crl\", \"none\""}});
}

TEST_F(LoadTest, MethodsAfterNoneAreRejected) {
    LoadResult result = load_with_listener("[revocation.corp]\nmethods = [\"none\", \"ocsp\"]\n");
    expect_diagnostics(result, {{10, 11, "revocation.corp.methods: \"none\" must come last"}});
}

TEST_F(LoadTest, InvalidProfileNameIsRejected) {
    LoadResult result = load_with_listener("[revocation.\"corp ca\"]\n");
    expect_diagnostics(result, {{9, 1, "revocation.corp ca: \"corp ca\" is not a valid name"}});
}

TEST_F(LoadTest, ProfileThatIsNotATableIsRejected) {
    LoadResult result = load_with_listener("[revocation]\ncorp = \"ocsp\"\n");
    expect_diagnostics(result, {{10, 8, "revocation.corp: expected a table [revocation.NAME], got "
                                        "a string"}});
}

TEST_F(LoadTest, OcspWithoutAnyResponderIsRejected) {
    LoadResult result = load_with_listener("[revocation.corp.ocsp]\nuse_aia = false\n");
    expect_diagnostics(result, {{9, 1, "revocation.corp.ocsp: OCSP has no responder to ask"}});
}

TEST_F(LoadTest, OcspWithOnlyIssuerRespondersIsAccepted) {
    LoadResult result = load_with_listener(R"([revocation.corp.ocsp]
use_aia = false
[[revocation.corp.ocsp.issuer]]
certificate = "ca.pem"
responders = ["http://127.0.0.1:8889"]
)");
    EXPECT_TRUE(result.ok());
}

TEST_F(LoadTest, CrlOnlyProfileNeedsNoResponder) {
    LoadResult result = load_with_listener(R"([revocation.corp]
methods = ["crl"]
[revocation.corp.ocsp]
use_aia = false
)");
    EXPECT_TRUE(result.ok());
}

TEST_F(LoadTest, PreferringAiaWithAiaDisabledIsRejected) {
    LoadResult result = load_with_listener(R"([revocation.corp.ocsp]
responders = ["http://127.0.0.1:8888"]
use_aia = false
prefer = "aia"
)");
    expect_diagnostics(result, {{12, 10, "revocation.corp.ocsp.prefer: \"aia\" needs use_aia = "
                                         "true"}});
}

TEST_F(LoadTest, ResponderUrlWithOtherSchemeIsRejected) {
    LoadResult result = load_with_listener(R"([revocation.corp.ocsp]
responders = ["ldap://127.0.0.1:389"]
)");
    expect_diagnostics(result, {{10, 15, "revocation.corp.ocsp.responders[0]: "
                                         "\"ldap://127.0.0.1:389\" is not a valid http:// or "
                                         "https:// URL: scheme \"ldap\" is not supported"}});
}

TEST_F(LoadTest, ResponderUrlWithBadPortIsRejected) {
    LoadResult result = load_with_listener(R"([revocation.corp.ocsp]
responders = ["http://127.0.0.1:8888", "http://127.0.0.1:88888"]
)");
    expect_diagnostics(result, {{10, 40, "responders[1]: \"http://127.0.0.1:88888\" is not a valid "
                                         "http:// or https:// URL: the port must be a number from "
                                         "1 to 65535"}});
}

TEST_F(LoadTest, ResponderUrlWithFragmentIsRejected) {
    LoadResult result = load_with_listener(R"([revocation.corp.ocsp]
responders = ["http://127.0.0.1:8888/ocsp#x"]
)");
    expect_diagnostics(result, {{10, 15, "revocation.corp.ocsp.responders[0]: \"http://127.0.0.1:8888/ocsp#x\" is "
                                         "not a valid http:// or https:// URL: a fragment (\"#...\") is never "
                                         "sent to the server"}});
}

TEST_F(LoadTest, DuplicateResponderIsRejected) {
    LoadResult result = load_with_listener(R"([revocation.corp.ocsp]
responders = ["http://127.0.0.1:8888", "http://127.0.0.1:8888"]
)");
    expect_diagnostics(result,
                       {{10, 40, "responders[1]: \"http://127.0.0.1:8888\" is listed twice"}});
}

TEST_F(LoadTest, IssuerWithoutRespondersIsRejected) {
    LoadResult result = load_with_listener(R"([[revocation.corp.ocsp.issuer]]
certificate = "ca.pem"
)");
    expect_diagnostics(result, {{9, 1, "revocation.corp.ocsp.issuer[0]: missing required key "
                                       "\"responders\""}});
}

TEST_F(LoadTest, CrlUrlMustBeHttp) {
    LoadResult result = load_with_listener(R"([revocation.corp]
methods = ["crl"]
[revocation.corp.crl]
urls = ["file:///etc/ca.crl"]
)");
    expect_diagnostics(result, {{12, 9, "revocation.corp.crl.urls[0]: \"file:///etc/ca.crl\" is "
                                        "not a valid http:// or https:// URL"}});
}

TEST_F(LoadTest, ZeroOcspResponseLimitIsRejected) {
    LoadResult result = load_with_listener(R"([revocation.corp.ocsp]
max_response_size = 0
)");
    expect_diagnostics(result, {{10, 21, "revocation.corp.ocsp.max_response_size: must be between "
                                         "1 and 16777216, got 0"}});
}

// --- nonce ----------------------------------------------------------------------------

TEST_F(LoadTest, NonceDefaultsToPreferWithoutResponseAgeBound) {
    LoadResult result = load_with_listener("[revocation.corp]\n");
    ASSERT_TRUE(result.ok());
    const OcspSettings& ocsp = result.config->revocation.at("corp").ocsp;
    EXPECT_EQ(ocsp.nonce, NonceMode::prefer);
    EXPECT_FALSE(ocsp.max_response_age);
    EXPECT_TRUE(result.warnings.empty());
}

TEST_F(LoadTest, NonceModesLoadWithoutWarning) {
    for (auto [text, mode] : {std::pair{"off", NonceMode::off}, std::pair{"prefer", NonceMode::prefer},
                              std::pair{"require", NonceMode::require}}) {
        LoadResult result = load_with_listener("[revocation.corp.ocsp]\nnonce = \"" + std::string(text) + "\"\n");
        ASSERT_TRUE(result.ok()) << text;
        EXPECT_EQ(result.config->revocation.at("corp").ocsp.nonce, mode) << text;
        EXPECT_TRUE(result.warnings.empty()) << text;
    }
}

TEST_F(LoadTest, OldNonceTrueLoadsAsPreferWithAWarning) {
    LoadResult result = load_with_listener("[revocation.corp.ocsp]\nnonce = true\n");
    ASSERT_TRUE(result.ok()) << format(result.diagnostics.at(0));
    EXPECT_EQ(result.config->revocation.at("corp").ocsp.nonce, NonceMode::prefer);
    ASSERT_EQ(result.warnings.size(), 1u);
    EXPECT_EQ(format(result.warnings[0]),
              file("ocspgate.toml").string() +
                  ":10:9: warning: revocation.corp.ocsp.nonce: nonce = true is the old spelling and "
                  "now means nonce = \"prefer\": a response without the nonce is accepted while it "
                  "is current; write nonce = \"prefer\", or nonce = \"require\" to refuse such "
                  "responses as before");
}

TEST_F(LoadTest, OldNonceFalseLoadsAsOffWithAWarning) {
    LoadResult result = load_with_listener("[revocation.corp.ocsp]\nnonce = false\n");
    ASSERT_TRUE(result.ok()) << format(result.diagnostics.at(0));
    EXPECT_EQ(result.config->revocation.at("corp").ocsp.nonce, NonceMode::off);
    ASSERT_EQ(result.warnings.size(), 1u);
    EXPECT_NE(result.warnings[0].message.find("nonce = false is the old spelling of nonce = \"off\""),
              std::string::npos);
}

TEST_F(LoadTest, UnknownNonceModeIsRejected) {
    LoadResult result = load_with_listener("[revocation.corp.ocsp]\nnonce = \"always\"\n");
    expect_diagnostics(result, {{10, 9, "revocation.corp.ocsp.nonce: \"always\" is not one of \"off\", "
                                        "\"prefer\", \"require\""}});
}

TEST_F(LoadTest, MaxResponseAgeIsRead) {
    LoadResult result = load_with_listener("[revocation.corp.ocsp]\nmax_response_age = \"10m\"\n");
    ASSERT_TRUE(result.ok()) << format(result.diagnostics.at(0));
    EXPECT_EQ(result.config->revocation.at("corp").ocsp.max_response_age, std::chrono::minutes(10));
}

TEST_F(LoadTest, ZeroMaxResponseAgeIsRejected) {
    LoadResult result = load_with_listener("[revocation.corp.ocsp]\nmax_response_age = \"0s\"\n");
    expect_diagnostics(result, {{10, 20, "revocation.corp.ocsp.max_response_age:"}});
}

TEST_F(LoadTest, MaxResponseAgeWithRequiredNonceLoadsWithAWarning) {
    LoadResult result = load_with_listener(
        "[revocation.corp.ocsp]\nnonce = \"require\"\nmax_response_age = \"10m\"\n");
    ASSERT_TRUE(result.ok()) << format(result.diagnostics.at(0));
    ASSERT_EQ(result.warnings.size(), 1u);
    EXPECT_EQ(result.warnings[0].line, 11);
    EXPECT_NE(result.warnings[0].message.find("has no effect with nonce = \"require\""), std::string::npos);
}

}  // namespace
}  // namespace ocspgate::conf::testing
