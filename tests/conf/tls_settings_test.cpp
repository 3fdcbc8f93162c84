// [listener.tls]'s protocol keys (issue #27 point 1): OpenSSL strings checked by OpenSSL at
// load, the second certificate, the security level and the legacy-version gate.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "load_fixture.h"

namespace ocspgate::conf::testing {
namespace {

const TlsSettings& tls_of(const LoadResult& result) { return result.config->listeners.at(0).tls; }

TEST_F(LoadTest, ProtocolKeysDefaultToUnset) {
    LoadResult result = load_with_listener("");
    ASSERT_TRUE(result.ok()) << format(result.diagnostics.at(0));
    const TlsSettings& tls = tls_of(result);
    EXPECT_TRUE(tls.ciphers.empty());
    EXPECT_TRUE(tls.ciphersuites.empty());
    EXPECT_TRUE(tls.groups.empty());
    EXPECT_TRUE(tls.signature_algorithms.empty());
    EXPECT_FALSE(tls.security_level.has_value());
    EXPECT_TRUE(tls.second_certificate.empty());
    EXPECT_FALSE(tls.allow_legacy_tls);
}

TEST_F(LoadTest, ProtocolKeysAreRead) {
    LoadResult result = load_with_listener(
        "ciphers = \"ECDHE-ECDSA-AES128-GCM-SHA256:AES128-SHA\"\n"
        "ciphersuites = \"TLS_AES_128_GCM_SHA256\"\n"
        "groups = \"X25519:P-256\"\n"
        "signature_algorithms = \"ECDSA+SHA256:RSA+SHA256\"\n"
        "security_level = 1\n");
    ASSERT_TRUE(result.ok()) << format(result.diagnostics.at(0));
    const TlsSettings& tls = tls_of(result);
    EXPECT_EQ(tls.ciphers, "ECDHE-ECDSA-AES128-GCM-SHA256:AES128-SHA");
    EXPECT_EQ(tls.ciphersuites, "TLS_AES_128_GCM_SHA256");
    EXPECT_EQ(tls.groups, "X25519:P-256");
    EXPECT_EQ(tls.signature_algorithms, "ECDSA+SHA256:RSA+SHA256");
    EXPECT_EQ(tls.security_level, 1);
}

TEST_F(LoadTest, CipherListOpenSslRefusesIsRejectedAtItsValue) {
    LoadResult result = load_with_listener("ciphers = \"NO-SUCH-CIPHER\"\n");
    expect_diagnostics(result, {{9, 11, "listener[0].tls.ciphers: OpenSSL refuses ciphers \"NO-SUCH-CIPHER\""}});
}

TEST_F(LoadTest, CipherSuitesOpenSslRefusesAreRejected) {
    LoadResult result = load_with_listener("ciphersuites = \"TLS_AES_128_CBC\"\n");
    expect_diagnostics(result, {{9, 16, "OpenSSL refuses ciphersuites \"TLS_AES_128_CBC\""}});
}

TEST_F(LoadTest, UnknownGroupIsRejected) {
    LoadResult result = load_with_listener("groups = \"X25519:P-255\"\n");
    expect_diagnostics(result, {{9, 10, "OpenSSL refuses groups \"X25519:P-255\""}});
}

TEST_F(LoadTest, UnknownSignatureAlgorithmIsRejected) {
    LoadResult result = load_with_listener("signature_algorithms = \"ECDSA+MD17\"\n");
    expect_diagnostics(result, {{9, 24, "OpenSSL refuses signature_algorithms \"ECDSA+MD17\""}});
}

TEST_F(LoadTest, EmptyCipherListIsRejected) {
    LoadResult result = load_with_listener("ciphers = \"\"\n");
    expect_diagnostics(result, {{9, 11, "must not be empty (leave the key out for the default)"}});
}

TEST_F(LoadTest, SecurityLevelAboveFiveIsRejected) {
    LoadResult result = load_with_listener("security_level = 6\n");
    expect_diagnostics(result, {{9, 18, "must be between 0 and 5, got 6"}});
}

TEST_F(LoadTest, LegacyMinVersionWithoutAllowLegacyTlsIsRejected) {
    LoadResult result = load_with_listener("min_version = \"1.0\"\nsecurity_level = 0\n");
    expect_diagnostics(result, {{9, 15, "min_version \"1.0\" is a deprecated TLS version (RFC 8996); "
                                        "set allow_legacy_tls = true"}});
}

TEST_F(LoadTest, LegacyMinVersionAboveSecurityLevelZeroIsRejected) {
    LoadResult result = load_with_listener("min_version = \"1.1\"\nallow_legacy_tls = true\n");
    expect_diagnostics(result, {{9, 15, "min_version \"1.1\" needs security_level = 0"}});
}

TEST_F(LoadTest, AllowedLegacyMinVersionLoadsWithAWarning) {
    LoadResult result =
        load_with_listener("min_version = \"1.0\"\nallow_legacy_tls = true\nsecurity_level = 0\n");
    ASSERT_TRUE(result.ok()) << format(result.diagnostics.at(0));
    EXPECT_EQ(tls_of(result).min_version, TlsVersion::v1_0);
    ASSERT_EQ(result.warnings.size(), 1u);
    EXPECT_EQ(format(result.warnings[0]),
              file("ocspgate.toml").string() +
                  ":9:15: warning: listener[0].tls.min_version: min_version \"1.0\" accepts "
                  "deprecated TLS versions (RFC 8996) on this listener");
}

TEST_F(LoadTest, SecondCertificateWithoutItsKeyIsRejected) {
    LoadResult result = load_with_listener("second_certificate = \"other.pem\"\n");
    expect_diagnostics(result, {{9, 22, "second_certificate and second_private_key come together"}});
}

TEST_F(LoadTest, SecondCertificateMustMatchItsKey) {
    LoadResult result =
        load_with_listener("second_certificate = \"other.pem\"\nsecond_private_key = \"server.key\"\n");
    expect_diagnostics(result, {{10, 22, "does not match certificate"}});
}

TEST_F(LoadTest, SecondCertificateOfTheSameKeyTypeIsRejected) {
    LoadResult result =
        load_with_listener("second_certificate = \"other.pem\"\nsecond_private_key = \"other.key\"\n");
    expect_diagnostics(result, {{9, 22, "second_certificate has the same key type as certificate"}});
}

TEST_F(LoadTest, RsaSecondCertificateBesideEcdsaIsAccepted) {
    tls::EvpPkeyPtr key(EVP_RSA_gen(2048));
    tls::X509Ptr cert(X509_new());
    X509_set_version(cert.get(), X509_VERSION_3);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("rsa"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_sign(cert.get(), key.get(), EVP_sha256());
    dir_.write("rsa.pem", certificate_pem(cert.get()));
    dir_.write("rsa.key", private_key_pem(key.get()));
    LoadResult result =
        load_with_listener("second_certificate = \"rsa.pem\"\nsecond_private_key = \"rsa.key\"\n");
    ASSERT_TRUE(result.ok()) << format(result.diagnostics.at(0));
    EXPECT_EQ(tls_of(result).second_certificate, file("rsa.pem"));
}

TEST_F(LoadTest, StaplingIsOffByDefaultAndNeedsTheIssuerAfterTheLeaf) {
    EXPECT_FALSE(TlsSettings{}.stapling);
    LoadResult result = load_with_listener("stapling = true\n");  // server.pem holds the leaf alone
    expect_diagnostics(result, {{9, 12, "stapling needs the issuer of certificate in the same file, right after the "
                                       "leaf (the CertID is built from it)"}});
}

}  // namespace
}  // namespace ocspgate::conf::testing
