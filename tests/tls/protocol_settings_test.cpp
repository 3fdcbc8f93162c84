// The per-listener protocol settings (tls/protocol_settings.h) and the second server
// identity of make_server_context: each setting is shown to reach the SSL_CTX and to change
// which handshakes succeed, with an in-process OpenSSL client over a BIO pair.
#include "tls/protocol_settings.h"

#include <gtest/gtest.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>

#include <string>

#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "tls/context.h"

namespace ocspgate::tls {
namespace {

using fixtures::Issued;

// A self-signed RSA server certificate of `bits` (the shared test PKI is P-256 only).
Issued make_rsa_cert(unsigned bits) {
    Issued out;
    out.key.reset(EVP_RSA_gen(bits));
    out.cert.reset(X509_new());
    X509* x = out.cert.get();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("rsa server"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, out.key.get());
    X509_sign(x, out.key.get(), EVP_sha256());
    return out;
}

const Issued& ec_server() {
    static const Issued cert = fixtures::make_cert({"/O=Test/CN=ec server", nullptr, 3, fixtures::leaf_extensions("serverAuth")});
    return cert;
}

const Issued& rsa_server() {
    static const Issued cert = make_rsa_cert(2048);
    return cert;
}

// Server options without client verification: these tests are about the server's side.
ServerContextOptions server_options(const ProtocolSettings& protocol, bool with_rsa = false) {
    static const fixtures::TempDir dir;
    static const std::filesystem::path ec_chain = dir.write("ec.pem", fixtures::certificate_pem(ec_server().get()));
    static const std::filesystem::path ec_key = dir.write("ec.key", fixtures::private_key_pem(ec_server().key.get()));
    static const std::filesystem::path rsa_chain = dir.write("rsa.pem", fixtures::certificate_pem(rsa_server().get()));
    static const std::filesystem::path rsa_key = dir.write("rsa.key", fixtures::private_key_pem(rsa_server().key.get()));
    ServerContextOptions o;
    o.certificate_chain = ec_chain;
    o.private_key = ec_key;
    if (with_rsa) {
        o.second_certificate_chain = rsa_chain;
        o.second_private_key = rsa_key;
    }
    o.verify_peer = PeerVerification::none;
    o.protocol = protocol;
    return o;
}

struct Offer {
    int version = TLS1_3_VERSION;  // the only version offered
    const char* ciphers = nullptr;  // TLS 1.2 list; null = OpenSSL's default
    const char* groups = nullptr;
    int security_level = 0;  // the client is lenient: the server's settings decide
};

struct Outcome {
    bool ok = false;
    int server_key_type = EVP_PKEY_NONE;  // of the certificate the client received
};

// One handshake between `server` and a client making `offer`, over a BIO pair.
Outcome handshake(SSL_CTX* server, const Offer& offer) {
    SslCtxPtr client_ctx(SSL_CTX_new(TLS_client_method()));
    SSL_CTX* c = client_ctx.get();
    SSL_CTX_set_security_level(c, offer.security_level);
    SSL_CTX_set_min_proto_version(c, offer.version);
    SSL_CTX_set_max_proto_version(c, offer.version);
    if (offer.ciphers) SSL_CTX_set_cipher_list(c, offer.ciphers);
    if (offer.groups) SSL_CTX_set1_groups_list(c, offer.groups);
    SslPtr client(SSL_new(c));
    SslPtr srv(SSL_new(server));
    BIO* client_bio = nullptr;
    BIO* server_bio = nullptr;
    BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
    SSL_set_bio(client.get(), client_bio, client_bio);
    SSL_set_bio(srv.get(), server_bio, server_bio);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(srv.get());
    Outcome out;
    for (int round = 0; round < 20; ++round) {
        int rc = SSL_do_handshake(client.get());
        int rs = SSL_do_handshake(srv.get());
        if (rc == 1 && rs == 1) {
            out.ok = true;
            break;
        }
        auto stuck = [](SSL* ssl, int r) {
            int e = SSL_get_error(ssl, r);
            return r != 1 && e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE;
        };
        if (stuck(client.get(), rc) || stuck(srv.get(), rs)) break;
    }
    if (out.ok) {
        X509Ptr peer(SSL_get1_peer_certificate(client.get()));
        if (peer) out.server_key_type = EVP_PKEY_get_base_id(X509_get0_pubkey(peer.get()));
    }
    ERR_clear_error();
    return out;
}

SslCtxPtr server_with(const ProtocolSettings& protocol, bool with_rsa = false) {
    auto ctx = make_server_context(server_options(protocol, with_rsa));
    EXPECT_TRUE(ctx) << (ctx ? "" : ctx.error().message);
    return ctx ? std::move(ctx).value() : SslCtxPtr{};
}

TEST(ProtocolSettings, DefaultsRefuseCbcOnlyTls12Clients) {
    SslCtxPtr server = server_with({});
    EXPECT_FALSE(handshake(server.get(), {TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA"}).ok);
    EXPECT_TRUE(handshake(server.get(), {TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256"}).ok);
}

TEST(ProtocolSettings, CiphersLetCbcOnlyTls12ClientsIn) {
    ProtocolSettings p;
    p.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA";
    SslCtxPtr server = server_with(p);
    EXPECT_TRUE(handshake(server.get(), {TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA"}).ok);
}

TEST(ProtocolSettings, CiphersuitesRestrictTls13) {
    ProtocolSettings p;
    p.ciphersuites = "TLS_AES_256_GCM_SHA384";
    SslCtxPtr server = server_with(p);
    STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(server.get());
    bool has_aes128 = false;
    for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i)
        has_aes128 |= std::string(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(ciphers, i))) == "TLS_AES_128_GCM_SHA256";
    EXPECT_FALSE(has_aes128);
    EXPECT_TRUE(handshake(server.get(), {}).ok);
}

TEST(ProtocolSettings, GroupsRestrictKeyExchange) {
    ProtocolSettings p;
    p.groups = "X25519";
    SslCtxPtr server = server_with(p);
    EXPECT_FALSE(handshake(server.get(), {TLS1_3_VERSION, nullptr, "P-256"}).ok);
    EXPECT_TRUE(handshake(server.get(), {TLS1_3_VERSION, nullptr, "X25519"}).ok);
}

TEST(ProtocolSettings, SignatureAlgorithmsRestrictTheServerSignature) {
    ProtocolSettings p;
    p.signature_algorithms = "ECDSA+SHA256";  // TLS 1.3: ecdsa_secp256r1_sha256, the P-256 one
    SslCtxPtr server = server_with(p);
    EXPECT_TRUE(handshake(server.get(), {}).ok);
    p.signature_algorithms = "RSA-PSS+SHA256";  // nothing the ECDSA certificate can do
    server = server_with(p);
    EXPECT_FALSE(handshake(server.get(), {}).ok);
}

TEST(ProtocolSettings, SecurityLevelReachesTheContext) {
    ProtocolSettings p;
    p.security_level = 3;  // 128 bits: the P-256 certificate still qualifies
    SslCtxPtr server = server_with(p);
    EXPECT_EQ(SSL_CTX_get_security_level(server.get()), 3);
}

TEST(ProtocolSettings, SecurityLevelThreeRefusesA2048BitRsaCertificate) {
    ProtocolSettings p;
    p.security_level = 3;  // RSA needs 3072 bits from level 3 on
    auto ctx = make_server_context(server_options(p, /*with_rsa=*/true));
    ASSERT_FALSE(ctx);
    EXPECT_NE(ctx.error().message.find("rsa.pem"), std::string::npos) << ctx.error().message;
}

TEST(ProtocolSettings, LegacyMinVersionReachesTheContext) {
    ProtocolSettings p;
    p.min_version = MinVersion::tls1_0;
    p.security_level = 0;
    p.ciphers = "ECDHE-ECDSA-AES128-SHA";  // TLS 1.0 and 1.1 have no AEAD suites
    SslCtxPtr server = server_with(p);
    EXPECT_EQ(SSL_CTX_get_min_proto_version(server.get()), TLS1_VERSION);
    EXPECT_TRUE(handshake(server.get(), {TLS1_1_VERSION, "DEFAULT:@SECLEVEL=0"}).ok);
    EXPECT_FALSE(handshake(server_with({}).get(), {TLS1_1_VERSION, "DEFAULT:@SECLEVEL=0"}).ok);
}

// Why conf/ insists on security_level = 0 with min_version "1.0"/"1.1".
TEST(ProtocolSettings, LegacyVersionsNeedSecurityLevelZero) {
    ProtocolSettings p;
    p.min_version = MinVersion::tls1_0;
    p.security_level = 1;
    p.ciphers = "ECDHE-ECDSA-AES128-SHA";
    SslCtxPtr server = server_with(p);
    EXPECT_FALSE(handshake(server.get(), {TLS1_1_VERSION, "DEFAULT:@SECLEVEL=0"}).ok);
}

TEST(ProtocolSettings, RsaOnlyClientGetsTheSecondCertificate) {
    ProtocolSettings p;
    p.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:AES128-SHA";
    SslCtxPtr server = server_with(p, /*with_rsa=*/true);
    Outcome rsa = handshake(server.get(), {TLS1_2_VERSION, "AES128-SHA"});
    EXPECT_TRUE(rsa.ok);
    EXPECT_EQ(rsa.server_key_type, EVP_PKEY_RSA);
    Outcome ec = handshake(server.get(), {TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256"});
    EXPECT_TRUE(ec.ok);
    EXPECT_EQ(ec.server_key_type, EVP_PKEY_EC);
}

TEST(ProtocolSettings, SecondCertificateOfTheSameKeyTypeIsRefused) {
    ServerContextOptions o = server_options({});
    o.second_certificate_chain = o.certificate_chain;
    o.second_private_key = o.private_key;
    auto ctx = make_server_context(o);
    ASSERT_FALSE(ctx);
    EXPECT_NE(ctx.error().message.find("same key type"), std::string::npos) << ctx.error().message;
}

TEST(ProtocolSettings, CheckSettingAcceptsWhatOpenSslAccepts) {
    EXPECT_TRUE(check_setting(ProtocolString::ciphers, "AES128-SHA:ECDHE-RSA-AES128-SHA"));
    EXPECT_TRUE(check_setting(ProtocolString::ciphersuites, "TLS_AES_128_GCM_SHA256"));
    EXPECT_TRUE(check_setting(ProtocolString::groups, "X25519:P-256"));
    EXPECT_TRUE(check_setting(ProtocolString::signature_algorithms, "ECDSA+SHA256:RSA+SHA1"));
}

TEST(ProtocolSettings, CheckSettingRefusesWhatOpenSslRefuses) {
    auto ciphers = check_setting(ProtocolString::ciphers, "NOT-A-CIPHER");
    ASSERT_FALSE(ciphers);
    EXPECT_NE(ciphers.error().message.find("OpenSSL refuses ciphers \"NOT-A-CIPHER\""), std::string::npos)
        << ciphers.error().message;
    EXPECT_FALSE(check_setting(ProtocolString::ciphersuites, "TLS_NOPE"));
    EXPECT_FALSE(check_setting(ProtocolString::groups, "P-255"));
    EXPECT_FALSE(check_setting(ProtocolString::signature_algorithms, "ECDSA+MD17"));
}

}  // namespace
}  // namespace ocspgate::tls
