// The files a configuration names are read and checked at load time: certificates, keys,
// CA bundles and CRLs, each reported at the key that names it.
#include <gtest/gtest.h>

#include "load_fixture.h"

namespace ocspgate::conf::testing {
namespace {

// A listener whose three TLS files are given by the test; the files are on lines 6, 7, 8,
// and their values start at columns 15, 15 and 13.
std::string listener_with(std::string_view certificate, std::string_view key,
                          std::string_view client_ca) {
    return "[[listener]]\nname = \"demo\"\nlisten = \"127.0.0.1:5061\"\n"
           "backend = \"127.0.0.1:5060\"\n[listener.tls]\n"
           "certificate = \"" + std::string(certificate) + "\"\n"
           "private_key = \"" + std::string(key) + "\"\n"
           "client_ca = \"" + std::string(client_ca) + "\"\n";
}

TEST_F(LoadTest, MissingCertificateFileIsReported) {
    LoadResult result = load(listener_with("absent.pem", "server.key", "ca.pem"));
    expect_diagnostics(result, {{6, 15, "listener[0].tls.certificate: cannot read \"" +
                                            file("absent.pem").string() +
                                            "\": No such file or directory"}});
}

TEST_F(LoadTest, UnreadableKeyFileIsReported) {
    std::filesystem::permissions(file("server.key"), std::filesystem::perms::none);
    if (std::FILE* probe = std::fopen(file("server.key").c_str(), "r")) {
        std::fclose(probe);
        GTEST_SKIP() << "running as root: permissions do not stop reads";
    }
    LoadResult result = load(listener_with("server.pem", "server.key", "ca.pem"));
    expect_diagnostics(result, {{7, 15, "Permission denied"}});
}

TEST_F(LoadTest, DirectoryInsteadOfFileIsReported) {
    std::filesystem::create_directory(file("pki"));
    LoadResult result = load(listener_with("server.pem", "server.key", "pki"));
    expect_diagnostics(result, {{8, 13, "is not a regular file"}});
}

TEST_F(LoadTest, EmptyPathIsRejectedForARequiredFile) {
    LoadResult result = load(listener_with("", "server.key", "ca.pem"));
    expect_diagnostics(result, {{6, 15, "listener[0].tls.certificate: must name a file"}});
}

TEST_F(LoadTest, FileWithoutPemCertificateIsReported) {
    dir_.write("garbage.pem", "this is not PEM\n");
    LoadResult result = load(listener_with("garbage.pem", "server.key", "ca.pem"));
    expect_diagnostics(result, {{6, 15, "contains no PEM certificate"}});
}

TEST_F(LoadTest, CorruptPemCertificateIsReported) {
    // A PEM frame whose base64 body is not a certificate.
    dir_.write("corrupt.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    LoadResult result = load(listener_with("corrupt.pem", "server.key", "ca.pem"));
    expect_diagnostics(result, {{6, 15, "holds a certificate that does not parse"}});
}

TEST_F(LoadTest, KeyFileWithoutKeyIsReported) {
    LoadResult result = load(listener_with("server.pem", "server.pem", "ca.pem"));
    expect_diagnostics(result, {{7, 15, "contains no PEM private key that parses"}});
}

TEST_F(LoadTest, EncryptedKeyIsRejectedWithoutPrompting) {
    dir_.write("encrypted.key", encrypted_private_key_pem(server_.key.get(), "secret"));
    LoadResult result = load(listener_with("server.pem", "encrypted.key", "ca.pem"));
    expect_diagnostics(result, {{7, 15, "is an encrypted private key"}});
}

TEST_F(LoadTest, KeyThatDoesNotMatchTheCertificateIsReported) {
    LoadResult result = load(listener_with("server.pem", "other.key", "ca.pem"));
    expect_diagnostics(result, {{7, 15, "listener[0].tls.private_key: private key \"" +
                                            file("other.key").string() +
                                            "\" does not match certificate \"" +
                                            file("server.pem").string() + "\""}});
}

TEST_F(LoadTest, CertificateChainWithLeafFirstMatchesItsKey) {
    dir_.write("chain.pem", certificate_pem(server_.certificate.get()) +
                                certificate_pem(ca_.certificate.get()));
    LoadResult result = load(listener_with("chain.pem", "server.key", "ca.pem"));
    EXPECT_TRUE(result.ok());
}

TEST_F(LoadTest, CaBundleWithoutCertificatesIsReported) {
    LoadResult result = load(listener_with("server.pem", "server.key", "server.key"));
    expect_diagnostics(result, {{8, 13, "listener[0].tls.client_ca: \"" +
                                            file("server.key").string() +
                                            "\" contains no PEM certificate"}});
}

TEST_F(LoadTest, MissingClientCaIsReportedWhenClientsAreVerified) {
    LoadResult result = load(R"([[listener]]
name = "demo"
listen = "127.0.0.1:5061"
backend = "127.0.0.1:5060"
[listener.tls]
certificate = "server.pem"
private_key = "server.key"
verify_client = "optional"
)");
    expect_diagnostics(result, {{5, 1, "listener[0].tls: missing required key \"client_ca\" "
                                       "(needed when verify_client is \"optional\")"}});
}

TEST_F(LoadTest, ClientCaIsOptionalWhenClientsAreNotVerified) {
    LoadResult result = load(R"([[listener]]
name = "demo"
listen = "127.0.0.1:5061"
backend = "127.0.0.1:5060"
[listener.tls]
certificate = "server.pem"
private_key = "server.key"
verify_client = "none"
)");
    EXPECT_TRUE(result.ok());
}

TEST_F(LoadTest, OcspClientCertificateWithoutKeyIsReported) {
    LoadResult result = load_with_listener(R"([revocation.corp.ocsp]
tls_certificate = "other.pem"
)");
    expect_diagnostics(result, {{10, 19, "revocation.corp.ocsp.tls_certificate: tls_certificate "
                                         "needs tls_private_key"}});
}

TEST_F(LoadTest, OcspClientKeyWithoutCertificateIsReported) {
    LoadResult result = load_with_listener(R"([revocation.corp.ocsp]
tls_private_key = "other.key"
tls_certificate = ""
)");
    expect_diagnostics(result, {{10, 19, "revocation.corp.ocsp.tls_private_key: tls_private_key "
                                         "needs tls_certificate"}});
}

TEST_F(LoadTest, OcspClientKeyThatDoesNotMatchIsReported) {
    LoadResult result = load_with_listener(R"([revocation.corp.ocsp]
tls_certificate = "other.pem"
tls_private_key = "server.key"
)");
    expect_diagnostics(result, {{11, 19, "revocation.corp.ocsp.tls_private_key: private key"}});
}

TEST_F(LoadTest, ResponderTrustFileIsChecked) {
    LoadResult result = load_with_listener(R"([revocation.corp.ocsp]
responder_trust = ["ca.pem", "absent.pem"]
)");
    expect_diagnostics(result, {{10, 30, "revocation.corp.ocsp.responder_trust[1]: cannot read"}});
}

TEST_F(LoadTest, IssuerFileMustHoldExactlyOneCertificate) {
    dir_.write("two.pem", certificate_pem(ca_.certificate.get()) +
                              certificate_pem(other_.certificate.get()));
    LoadResult result = load_with_listener(R"([[revocation.corp.ocsp.issuer]]
certificate = "two.pem"
responders = ["http://127.0.0.1:8889"]
)");
    expect_diagnostics(result, {{10, 15, "revocation.corp.ocsp.issuer[0].certificate: \"" +
                                             file("two.pem").string() +
                                             "\" holds 2 certificates; expected exactly one"}});
}

TEST_F(LoadTest, CrlFilesInPemAreAccepted) {
    dir_.write("ca.crl", crl_pem(ca_));
    LoadResult result = load_with_listener(R"([revocation.corp]
methods = ["crl"]
[revocation.corp.crl]
files = ["ca.crl"]
)");
    EXPECT_TRUE(result.ok()) << format(result.diagnostics.at(0));
}

TEST_F(LoadTest, CrlFileThatIsNotACrlIsReported) {
    LoadResult result = load_with_listener(R"([revocation.corp]
methods = ["crl"]
[revocation.corp.crl]
files = ["ca.pem"]
)");
    expect_diagnostics(result, {{12, 10, "revocation.corp.crl.files[0]: \"" +
                                             file("ca.pem").string() +
                                             "\" is not a CRL in PEM or DER form"}});
}

TEST_F(LoadTest, CrlSignersGraceAndDeltaPolicyAreRead) {
    LoadResult result = load_with_listener(R"([revocation.corp]
methods = ["crl"]
[revocation.corp.crl]
signers = ["ca.pem"]
grace = "2h"
delta_required = false
)");
    ASSERT_TRUE(result.ok()) << format(result.diagnostics.at(0));
    const ocsp::CrlSettings& crl = result.config->revocation.at("corp").crl;
    EXPECT_EQ(crl.signers, std::vector{file("ca.pem")});
    EXPECT_EQ(crl.grace, std::chrono::hours(2));
    EXPECT_FALSE(crl.delta_required);
}

TEST_F(LoadTest, CrlSettingsDefaultToNoGraceAndDeltasRequired) {
    LoadResult result = load_with_listener("[revocation.corp]\nmethods = [\"crl\"]\n");
    ASSERT_TRUE(result.ok()) << format(result.diagnostics.at(0));
    const ocsp::CrlSettings& crl = result.config->revocation.at("corp").crl;
    EXPECT_TRUE(crl.signers.empty());
    EXPECT_EQ(crl.grace, ocsp::Duration{0});
    EXPECT_TRUE(crl.delta_required);
}

TEST_F(LoadTest, CrlSignerFileThatIsNotACertificateIsReported) {
    LoadResult result = load_with_listener(R"([revocation.corp]
methods = ["crl"]
[revocation.corp.crl]
signers = ["server.key"]
)");
    ASSERT_FALSE(result.ok());
    EXPECT_NE(format(result.diagnostics.at(0)).find("revocation.corp.crl.signers[0]"), std::string::npos)
        << format(result.diagnostics.at(0));
}

}  // namespace
}  // namespace ocspgate::conf::testing
