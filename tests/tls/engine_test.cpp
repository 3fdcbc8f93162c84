// The server Engine against a real OpenSSL client in the same thread: the two exchange bytes
// through memory BIOs (pump() moves them until both sides are quiet), so every test is a
// full handshake without sockets, threads or timing.
#include "tls/engine.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/ssl.h>

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "tls/context.h"
#include "tls/verified_chain_cache.h"

namespace ocspgate::tls {
namespace {

using fixtures::Issued;

// A two-level PKI valid around the real clock (OpenSSL checks validity against it), and a
// second CA the server does not trust.
struct Pki {
    Issued root, intermediate, server, client;
    Issued stranger_root, stranger_client;
};

const Pki& pki() {
    static const Pki instance = [] {
        const std::time_t now = std::time(nullptr);
        auto spec = [now](const char* subject, const Issued* issuer, long serial,
                          std::vector<fixtures::ExtensionSpec> extensions) {
            fixtures::CertSpec s{subject, issuer, serial, std::move(extensions)};
            s.not_before = now - fixtures::one_day;
            s.not_after = now + 30 * fixtures::one_day;
            return s;
        };
        using fixtures::ca_extensions;
        using fixtures::leaf_extensions;
        using fixtures::make_cert;
        Pki p;
        p.root = make_cert(spec("/O=Test/CN=TLS Root", nullptr, 1, ca_extensions()));
        p.intermediate = make_cert(spec("/O=Test/CN=TLS Issuing", &p.root, 2, ca_extensions()));
        p.server = make_cert(spec("/O=Test/CN=server", &p.intermediate, 3, leaf_extensions("serverAuth")));
        p.client = make_cert(spec("/O=Test/CN=client", &p.intermediate, 4, leaf_extensions("clientAuth")));
        p.stranger_root = make_cert(spec("/O=Other/CN=Stranger Root", nullptr, 5, ca_extensions()));
        p.stranger_client =
            make_cert(spec("/O=Other/CN=stranger", &p.stranger_root, 6, leaf_extensions("clientAuth")));
        return p;
    }();
    return instance;
}

// make_server_context reads PEM files: the server's chain and key, and the client CA (root).
ServerContextOptions server_options() {
    static const fixtures::TempDir dir;
    static const ServerContextOptions written = [] {
        ServerContextOptions o;
        o.certificate_chain = dir.write("server-chain.pem", fixtures::certificate_pem(pki().server.get()) +
                                                                fixtures::certificate_pem(pki().intermediate.get()));
        o.private_key = dir.write("server.key", fixtures::private_key_pem(pki().server.key.get()));
        o.client_ca = dir.write("client-ca.pem", fixtures::certificate_pem(pki().root.get()));
        return o;
    }();
    return written;
}

std::vector<std::uint8_t> bytes(std::string_view text) { return {text.begin(), text.end()}; }
std::string text(const std::vector<std::uint8_t>& data) { return {data.begin(), data.end()}; }

struct ClientOptions {
    int version = TLS1_3_VERSION;                  // the only version the client offers
    const Issued* leaf = &pki().client;            // null: present no certificate
    const Issued* leaf_issuer = &pki().intermediate;  // sent after the leaf; may be null
    EVP_PKEY* signing_key = nullptr;               // instead of the leaf's own key
};

// An OpenSSL client over memory BIOs that trusts the test root and records the alerts it
// receives (from OpenSSL's info callback: it only records, the test asserts afterwards).
class Client {
public:
    explicit Client(const ClientOptions& o) {
        ctx_.reset(SSL_CTX_new(TLS_client_method()));
        SSL_CTX* ctx = ctx_.get();
        if (o.version < TLS1_2_VERSION) {
            // Debian's default security level refuses to speak TLS 1.0/1.1 at all.
            SSL_CTX_set_security_level(ctx, 0);
            SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
        }
        SSL_CTX_set_min_proto_version(ctx, o.version);
        SSL_CTX_set_max_proto_version(ctx, o.version);
        X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), pki().root.get());
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
        if (o.leaf != nullptr) {
            SSL_CTX_use_certificate(ctx, o.leaf->get());
            SSL_CTX_use_PrivateKey(ctx, o.signing_key ? o.signing_key : o.leaf->key.get());
        }
        if (o.leaf_issuer != nullptr) SSL_CTX_add1_chain_cert(ctx, o.leaf_issuer->get());
        ssl_.reset(SSL_new(ctx));
        in_ = BIO_new(BIO_s_mem());
        out_ = BIO_new(BIO_s_mem());
        BIO_set_mem_eof_return(in_, -1);
        BIO_set_mem_eof_return(out_, -1);
        SSL_set_bio(ssl_.get(), in_, out_);
        SSL_set_connect_state(ssl_.get());
        SSL_set_app_data(ssl_.get(), this);
        SSL_set_info_callback(ssl_.get(), &Client::on_info);
    }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    SSL* ssl() const { return ssl_.get(); }
    bool handshake_done() const { return handshake_done_; }
    bool handshake_failed() const { return handshake_failed_; }
    // The description of the first alert the server sent (RFC 8446 §6), if any.
    std::optional<int> alert_received() const { return alert_received_; }

    // Advances the handshake as far as the bytes received so far allow.
    void step() {
        if (handshake_done_ || handshake_failed_) return;
        ERR_clear_error();
        int rc = SSL_do_handshake(ssl_.get());
        if (rc == 1) {
            handshake_done_ = true;
            return;
        }
        int err = SSL_get_error(ssl_.get(), rc);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) handshake_failed_ = true;
        ERR_clear_error();
    }

    void write(std::string_view plaintext) {
        std::size_t written = 0;
        ERR_clear_error();
        SSL_write_ex(ssl_.get(), plaintext.data(), plaintext.size(), &written);
    }

    // Reads all plaintext that has arrived; read_error() then tells why reading stopped.
    std::string read() {
        std::string out;
        char buffer[4096];
        for (;;) {
            std::size_t got = 0;
            ERR_clear_error();
            if (SSL_read_ex(ssl_.get(), buffer, sizeof buffer, &got) == 1) {
                out.append(buffer, got);
                continue;
            }
            read_error_ = SSL_get_error(ssl_.get(), 0);
            ERR_clear_error();
            return out;
        }
    }
    int read_error() const { return read_error_; }

    // Ciphertext from the server in, ciphertext for the server out.
    void give(const std::vector<std::uint8_t>& ciphertext) {
        if (!ciphertext.empty()) BIO_write(in_, ciphertext.data(), static_cast<int>(ciphertext.size()));
    }
    std::vector<std::uint8_t> take() {
        std::vector<std::uint8_t> out(BIO_ctrl_pending(out_));
        if (!out.empty()) BIO_read(out_, out.data(), static_cast<int>(out.size()));
        return out;
    }

private:
    static void on_info(const SSL* ssl, int where, int value) {
        auto* self = static_cast<Client*>(SSL_get_app_data(ssl));
        // For alerts, `value` is (level << 8) | description.
        if ((where & SSL_CB_READ_ALERT) != 0 && !self->alert_received_) self->alert_received_ = value & 0xff;
    }

    SslCtxPtr ctx_;
    SslPtr ssl_;
    BIO* in_ = nullptr;   // owned by ssl_
    BIO* out_ = nullptr;  // owned by ssl_
    bool handshake_done_ = false;
    bool handshake_failed_ = false;
    int read_error_ = SSL_ERROR_NONE;
    std::optional<int> alert_received_;
};

// Answers every chain with the same verdict, or nullopt to suspend the handshake.
class FixedGate final : public RevocationGate {
public:
    std::optional<ChainVerdict> decide_now(STACK_OF(X509) * /*verified_chain*/) override {
        ++calls;
        return verdict;
    }
    std::optional<ChainVerdict> verdict;
    int calls = 0;
};

class EngineTest : public ::testing::Test {
protected:
    // Builds the server context and Engine and the client; call through ASSERT_NO_FATAL_FAILURE.
    void start(ServerContextOptions options, const ClientOptions& client = {}, RevocationGate* gate = nullptr) {
        options.own_record_layer = options.own_record_layer || own_record_layer_;
        auto ctx = make_server_context(options);
        ASSERT_TRUE(ctx) << ctx.error().message;
        ctx_ = std::move(ctx).value();
        auto engine = Engine::create(ctx_.get(), gate);
        ASSERT_TRUE(engine) << engine.error().message;
        engine_ = std::move(engine).value();
        client_.emplace(client);
    }

    // A new connection on the same server context (and so the same verified-chain cache).
    void reconnect(const ClientOptions& client, RevocationGate* gate = nullptr) {
        engine_.reset();
        auto engine = Engine::create(ctx_.get(), gate);
        ASSERT_TRUE(engine) << engine.error().message;
        engine_ = std::move(engine).value();
        client_.emplace(client);
    }

    void start_with_gate(const ClientOptions& client = {}) {
        ServerContextOptions options = server_options();
        options.async_verification = true;
        start(options, client, &gate_);
    }

    // Moves bytes both ways until neither side has anything to send; returns what every
    // cycle() reported along the way (the first failure, and each flag that was ever set).
    CycleEvents pump() {
        CycleEvents seen;
        for (int round = 0; round < kMaxRounds; ++round) {
            client_->step();
            const std::vector<std::uint8_t> to_server = client_->take();
            engine_->enc_in(to_server);
            const CycleEvents events = engine_->cycle();
            seen.handshake_done |= events.handshake_done;
            seen.verification_paused |= events.verification_paused;
            seen.peer_closed |= events.peer_closed;
            if (!seen.failure) seen.failure = events.failure;
            std::vector<std::uint8_t> to_client;
            engine_->take_enc_out(to_client);
            client_->give(to_client);
            if (to_server.empty() && to_client.empty()) return seen;
        }
        ADD_FAILURE() << "client and server still talking after " << kMaxRounds << " rounds";
        return seen;
    }

    // The alert the client received. In TLS 1.3 the client has finished its side of the
    // handshake before the server checks its certificate, so it sees the alert on its first read.
    std::optional<int> alert_seen_by_client() {
        if (client_->handshake_done()) client_->read();
        return client_->alert_received();
    }

    std::string server_received() {
        std::vector<std::uint8_t> out;
        engine_->take_clear_out(out);
        return text(out);
    }

    static constexpr int kMaxRounds = 50;

    bool own_record_layer_ = false;  // every context start() makes hands TLS 1.3 to Record13

    FixedGate gate_;  // outlives engine_, as Engine::create requires
    SslCtxPtr ctx_;
    std::unique_ptr<Engine> engine_;
    std::optional<Client> client_;
};

// ---------------------------------------------------------------------------------------
// Behaviour that holds for TLS 1.2 and TLS 1.3 alike.

// Each runs with OpenSSL keeping the connection, and with own_record_layer (which changes
// nothing for TLS 1.2 and moves TLS 1.3 to Record13 after the handshake).
struct Mode {
    int version;
    bool own_record_layer;
};

class EngineVersionTest : public EngineTest, public ::testing::WithParamInterface<Mode> {
protected:
    EngineVersionTest() { own_record_layer_ = GetParam().own_record_layer; }
    ClientOptions client_options() const {
        ClientOptions o;
        o.version = GetParam().version;
        return o;
    }
    const char* version_name() const { return GetParam().version == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2"; }
};

INSTANTIATE_TEST_SUITE_P(Versions, EngineVersionTest,
                         ::testing::Values(Mode{TLS1_2_VERSION, false}, Mode{TLS1_3_VERSION, false},
                                           Mode{TLS1_2_VERSION, true}, Mode{TLS1_3_VERSION, true}),
                         [](const ::testing::TestParamInfo<Mode>& param) {
                             return std::string(param.param.version == TLS1_3_VERSION ? "Tls13" : "Tls12") +
                                    (param.param.own_record_layer ? "OwnRecordLayer" : "");
                         });

TEST_P(EngineVersionTest, OnlyTls13MovesToTheOwnRecordLayer) {
    ASSERT_NO_FATAL_FAILURE(start(server_options(), client_options()));
    ASSERT_TRUE(pump().handshake_done);
    EXPECT_EQ(engine_->own_record_layer(), GetParam().own_record_layer && GetParam().version == TLS1_3_VERSION);
    EXPECT_STREQ(engine_->version(), version_name());
    EXPECT_STRNE(engine_->cipher(), "");
    STACK_OF(X509)* chain = engine_->verified_chain();  // re-validation checks it later
    ASSERT_NE(chain, nullptr);
    ASSERT_GE(sk_X509_num(chain), 2);
    EXPECT_EQ(X509_cmp(sk_X509_value(chain, 0), pki().client.get()), 0);
}

TEST_P(EngineVersionTest, MutualTlsHandshakeCompletes) {
    ASSERT_NO_FATAL_FAILURE(start(server_options(), client_options()));
    const CycleEvents events = pump();
    EXPECT_EQ(events.failure, std::nullopt);
    EXPECT_TRUE(events.handshake_done);
    EXPECT_TRUE(engine_->handshake_complete());
    EXPECT_TRUE(client_->handshake_done());
    EXPECT_STREQ(engine_->version(), version_name());
    ASSERT_NE(engine_->peer_certificate(), nullptr);
    EXPECT_EQ(X509_cmp(engine_->peer_certificate(), pki().client.get()), 0);
}

TEST_P(EngineVersionTest, ClientPlaintextArrivesInClearOut) {
    ASSERT_NO_FATAL_FAILURE(start(server_options(), client_options()));
    pump();
    client_->write("ping");
    pump();
    EXPECT_EQ(server_received(), "ping");
}

TEST_P(EngineVersionTest, ClearInReachesTheClient) {
    ASSERT_NO_FATAL_FAILURE(start(server_options(), client_options()));
    pump();
    engine_->clear_in(bytes("pong"));
    pump();
    EXPECT_EQ(client_->read(), "pong");
}

TEST_P(EngineVersionTest, ClearInBeforeTheHandshakeIsDeliveredAfterIt) {
    ASSERT_NO_FATAL_FAILURE(start(server_options(), client_options()));
    engine_->clear_in(bytes("early"));
    const CycleEvents events = pump();
    ASSERT_TRUE(events.handshake_done);
    EXPECT_EQ(client_->read(), "early");
}

TEST_P(EngineVersionTest, UntrustedIssuerIsRefusedWithUnknownCa) {
    ClientOptions client = client_options();
    client.leaf = &pki().stranger_client;
    client.leaf_issuer = nullptr;
    ASSERT_NO_FATAL_FAILURE(start(server_options(), client));
    const CycleEvents events = pump();
    EXPECT_EQ(events.failure, "untrusted issuer");
    EXPECT_FALSE(engine_->handshake_complete());
    EXPECT_EQ(alert_seen_by_client(), SSL_AD_UNKNOWN_CA);  // 48
}

TEST_P(EngineVersionTest, MissingClientCertificateIsRefusedWhenRequired) {
    ClientOptions client = client_options();
    client.leaf = nullptr;
    client.leaf_issuer = nullptr;
    ASSERT_NO_FATAL_FAILURE(start(server_options(), client));
    const CycleEvents events = pump();
    EXPECT_EQ(events.failure, "no client certificate");
    // TLS 1.3 has an alert of its own for this (116); TLS 1.2 says handshake_failure (40).
    EXPECT_EQ(alert_seen_by_client(),
              GetParam().version == TLS1_3_VERSION ? SSL_AD_CERTIFICATE_REQUIRED : SSL_AD_HANDSHAKE_FAILURE);
}

TEST_P(EngineVersionTest, MissingClientCertificateIsAcceptedWhenOptional) {
    ServerContextOptions options = server_options();
    options.verify_peer = PeerVerification::optional;
    ClientOptions client = client_options();
    client.leaf = nullptr;
    client.leaf_issuer = nullptr;
    ASSERT_NO_FATAL_FAILURE(start(options, client));
    const CycleEvents events = pump();
    EXPECT_EQ(events.failure, std::nullopt);
    EXPECT_TRUE(events.handshake_done);
    EXPECT_EQ(engine_->peer_certificate(), nullptr);
}

TEST_P(EngineVersionTest, AcceptVerdictCompletesTheHandshake) {
    gate_.verdict = ChainVerdict::accept;
    ASSERT_NO_FATAL_FAILURE(start_with_gate(client_options()));
    const CycleEvents events = pump();
    EXPECT_EQ(events.failure, std::nullopt);
    EXPECT_TRUE(events.handshake_done);
    EXPECT_FALSE(events.verification_paused);
    EXPECT_EQ(gate_.calls, 1);
}

TEST_P(EngineVersionTest, RevokedVerdictSendsCertificateRevoked) {
    gate_.verdict = ChainVerdict::revoked;
    ASSERT_NO_FATAL_FAILURE(start_with_gate(client_options()));
    const CycleEvents events = pump();
    EXPECT_EQ(events.failure, "certificate revoked");
    EXPECT_EQ(alert_seen_by_client(), SSL_AD_CERTIFICATE_REVOKED);  // 44
}

TEST_P(EngineVersionTest, UnknownVerdictSendsCertificateUnknown) {
    gate_.verdict = ChainVerdict::unknown;
    ASSERT_NO_FATAL_FAILURE(start_with_gate(client_options()));
    const CycleEvents events = pump();
    EXPECT_EQ(events.failure, "certificate status unknown");
    EXPECT_EQ(alert_seen_by_client(), SSL_AD_CERTIFICATE_UNKNOWN);  // 46
}

TEST_P(EngineVersionTest, UndeterminedVerdictFailsClosedWithCertificateUnknown) {
    gate_.verdict = ChainVerdict::undetermined;
    ASSERT_NO_FATAL_FAILURE(start_with_gate(client_options()));
    const CycleEvents events = pump();
    EXPECT_EQ(events.failure, "revocation status could not be determined");
    EXPECT_EQ(alert_seen_by_client(), SSL_AD_CERTIFICATE_UNKNOWN);  // 46
}

TEST_P(EngineVersionTest, GateWithoutAnswerPausesVerification) {
    ASSERT_NO_FATAL_FAILURE(start_with_gate(client_options()));
    const CycleEvents events = pump();
    EXPECT_TRUE(events.verification_paused);
    EXPECT_EQ(events.failure, std::nullopt);
    EXPECT_FALSE(engine_->handshake_complete());
}

TEST_P(EngineVersionTest, PausedVerificationOffersTheVerifiedChainLeafFirst) {
    ASSERT_NO_FATAL_FAILURE(start_with_gate(client_options()));
    pump();
    STACK_OF(X509)* chain = engine_->pending_chain();
    ASSERT_NE(chain, nullptr);
    ASSERT_EQ(sk_X509_num(chain), 3);
    EXPECT_EQ(X509_cmp(sk_X509_value(chain, 0), pki().client.get()), 0);
    EXPECT_EQ(X509_cmp(sk_X509_value(chain, 1), pki().intermediate.get()), 0);
    EXPECT_EQ(X509_cmp(sk_X509_value(chain, 2), pki().root.get()), 0);
}

TEST_P(EngineVersionTest, CycleWithoutVerdictStaysPaused) {
    ASSERT_NO_FATAL_FAILURE(start_with_gate(client_options()));
    pump();
    const CycleEvents again = engine_->cycle();
    EXPECT_TRUE(again.verification_paused);
    EXPECT_NE(engine_->pending_chain(), nullptr);
}

TEST_P(EngineVersionTest, ResumedRevokedSendsCertificateRevoked) {
    ASSERT_NO_FATAL_FAILURE(start_with_gate(client_options()));
    ASSERT_TRUE(pump().verification_paused);
    engine_->resume_verification(ChainVerdict::revoked);
    const CycleEvents events = pump();
    EXPECT_EQ(events.failure, "certificate revoked");
    EXPECT_EQ(alert_seen_by_client(), SSL_AD_CERTIFICATE_REVOKED);  // 44
}

TEST_P(EngineVersionTest, ResumedAcceptCompletesAndPlaintextFlows) {
    ASSERT_NO_FATAL_FAILURE(start_with_gate(client_options()));
    ASSERT_TRUE(pump().verification_paused);
    engine_->resume_verification(ChainVerdict::accept);
    const CycleEvents events = pump();
    ASSERT_TRUE(events.handshake_done);
    EXPECT_EQ(engine_->pending_chain(), nullptr);
    client_->write("ping");
    engine_->clear_in(bytes("pong"));
    pump();
    EXPECT_EQ(server_received(), "ping");
    EXPECT_EQ(client_->read(), "pong");
}

// The paused verify callback lives on an OpenSSL ASYNC job's stack; destroying the Engine
// must finish that job, or the job, its stack and the chain leak (AddressSanitizer's leak
// check fails the run; that is what this test is for).
TEST_P(EngineVersionTest, DestroyingAPausedEngineReleasesItsVerification) {
    ASSERT_NO_FATAL_FAILURE(start_with_gate(client_options()));
    ASSERT_TRUE(pump().verification_paused);
    engine_.reset();
    // The next paused handshake on this thread works as the first did.
    ASSERT_NO_FATAL_FAILURE(start_with_gate(client_options()));
    ASSERT_TRUE(pump().verification_paused);
    engine_->resume_verification(ChainVerdict::accept);
    EXPECT_TRUE(pump().handshake_done);
}

TEST_P(EngineVersionTest, ClientCloseNotifyReportsPeerClosed) {
    ASSERT_NO_FATAL_FAILURE(start(server_options(), client_options()));
    pump();
    SSL_shutdown(client_->ssl());
    const CycleEvents events = pump();
    EXPECT_TRUE(events.peer_closed);
    EXPECT_EQ(events.failure, std::nullopt);
}

TEST_P(EngineVersionTest, ShutdownSendsCloseNotify) {
    ASSERT_NO_FATAL_FAILURE(start(server_options(), client_options()));
    pump();
    engine_->shutdown();
    pump();
    EXPECT_EQ(client_->read(), "");
    EXPECT_EQ(client_->read_error(), SSL_ERROR_ZERO_RETURN);
}

TEST_P(EngineVersionTest, NoSessionTicketIsIssued) {
    ASSERT_NO_FATAL_FAILURE(start(server_options(), client_options()));
    pump();
    // TLS 1.3 tickets follow the handshake; reading processes whatever the server sent.
    engine_->clear_in(bytes("x"));
    pump();
    ASSERT_EQ(client_->read(), "x");
    SSL_SESSION* session = SSL_get_session(client_->ssl());
    ASSERT_NE(session, nullptr);
    EXPECT_EQ(SSL_SESSION_has_ticket(session), 0);
}

// ---------------------------------------------------------------------------------------
// Version-specific behaviour and malformed input.

// OpenSSL 3.0 servers already refuse client-initiated renegotiation by default; the context's
// SSL_OP_NO_RENEGOTIATION also holds if SSL_OP_ALLOW_CLIENT_RENEGOTIATION is ever set.
TEST_F(EngineTest, RenegotiationIsRefused) {
    ClientOptions client;
    client.version = TLS1_2_VERSION;
    ASSERT_NO_FATAL_FAILURE(start(server_options(), client));
    ASSERT_TRUE(pump().handshake_done);
    ASSERT_EQ(SSL_renegotiate(client_->ssl()), 1);
    SSL_do_handshake(client_->ssl());  // sends the new ClientHello
    pump();
    client_->read();
    EXPECT_EQ(client_->alert_received(), SSL_AD_NO_RENEGOTIATION);  // 100
}

TEST_F(EngineTest, Tls11ClientIsRefused) {
    ClientOptions client;
    client.version = TLS1_1_VERSION;
    ASSERT_NO_FATAL_FAILURE(start(server_options(), client));
    const CycleEvents events = pump();
    ASSERT_TRUE(events.failure);
    EXPECT_NE(events.failure->find("unsupported protocol"), std::string::npos) << *events.failure;
    EXPECT_TRUE(client_->handshake_failed());
    EXPECT_EQ(client_->alert_received(), SSL_AD_PROTOCOL_VERSION);  // 70
}

TEST_F(EngineTest, MinimumTls13RefusesTls12Client) {
    ServerContextOptions options = server_options();
    options.protocol.min_version = MinVersion::tls1_3;
    ClientOptions client;
    client.version = TLS1_2_VERSION;
    ASSERT_NO_FATAL_FAILURE(start(options, client));
    const CycleEvents events = pump();
    ASSERT_TRUE(events.failure);
    EXPECT_NE(events.failure->find("unsupported protocol"), std::string::npos) << *events.failure;
    EXPECT_EQ(client_->alert_received(), SSL_AD_PROTOCOL_VERSION);  // 70
}

// A TLS 1.3 client has finished its side of the handshake before the server verifies its
// certificate, so it may send application data while the verification is paused.
TEST_F(EngineTest, PlaintextSentDuringPausedVerificationArrivesAfterAccept) {
    ASSERT_NO_FATAL_FAILURE(start_with_gate());
    ASSERT_TRUE(pump().verification_paused);
    ASSERT_TRUE(client_->handshake_done());
    client_->write("sent early");
    ASSERT_TRUE(pump().verification_paused);
    EXPECT_EQ(server_received(), "");
    engine_->resume_verification(ChainVerdict::accept);
    ASSERT_TRUE(pump().handshake_done);
    EXPECT_EQ(server_received(), "sent early");
}

TEST_F(EngineTest, PlaintextSentDuringPausedVerificationIsDroppedWhenRevoked) {
    ASSERT_NO_FATAL_FAILURE(start_with_gate());
    ASSERT_TRUE(pump().verification_paused);
    client_->write("sent early");
    pump();
    engine_->resume_verification(ChainVerdict::revoked);
    ASSERT_TRUE(pump().failure);
    EXPECT_EQ(server_received(), "");
}

TEST_F(EngineTest, UndecidableGateWithoutAsyncVerificationFailsClosed) {
    ASSERT_NO_FATAL_FAILURE(start(server_options(), {}, &gate_));  // async_verification off
    const CycleEvents events = pump();
    EXPECT_FALSE(events.verification_paused);
    EXPECT_EQ(events.failure, "revocation status could not be determined");
}

TEST_F(EngineTest, HttpRequestInsteadOfClientHelloFails) {
    ASSERT_NO_FATAL_FAILURE(start(server_options()));
    engine_->enc_in(bytes("GET / HTTP/1.1\r\nHost: proxy\r\n\r\n"));
    const CycleEvents events = engine_->cycle();
    ASSERT_TRUE(events.failure);
    EXPECT_NE(events.failure->find("http request"), std::string::npos) << *events.failure;
    EXPECT_FALSE(engine_->handshake_complete());
}

TEST_F(EngineTest, MalformedClientHelloFails) {
    ASSERT_NO_FATAL_FAILURE(start(server_options()));
    const std::vector<std::uint8_t> record = {
        0x16, 0x03, 0x01, 0x00, 0x08,  // handshake record, TLS 1.0 framing, 8 bytes follow
        0x01, 0x00, 0x00, 0x04,        // ClientHello of 4 bytes: far too short for one
        0xde, 0xad, 0xbe, 0xef,
    };
    engine_->enc_in(record);
    const CycleEvents events = engine_->cycle();
    ASSERT_TRUE(events.failure);
    EXPECT_NE(events.failure->find("handshake failed"), std::string::npos) << *events.failure;
    EXPECT_GT(engine_->enc_out_pending(), 0u);  // the alert that says so
}

TEST_F(EngineTest, CycleAfterFailureReportsNothingMore) {
    ASSERT_NO_FATAL_FAILURE(start(server_options()));
    engine_->enc_in(bytes("GET / HTTP/1.1\r\n\r\n"));
    ASSERT_TRUE(engine_->cycle().failure);
    const CycleEvents again = engine_->cycle();
    EXPECT_EQ(again.failure, std::nullopt);
    EXPECT_FALSE(again.handshake_done);
}

// ---------------------------------------------------------------------------------------
// The verified-chain cache (tls/verified_chain_cache.h) as handshakes see it.

// A key that carries `holder`'s public key but signs with `other`'s private scalar: what a
// client has that holds the certificate but not its key. X509_check_private_key compares only
// the public halves, so OpenSSL lets the client present the certificate with it.
EvpPkeyPtr forged_key(const Issued& holder, const Issued& other) {
    unsigned char pub[133];
    std::size_t pub_len = 0;
    BIGNUM* priv = nullptr;
    EVP_PKEY_get_octet_string_param(holder.key.get(), OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &pub_len);
    EVP_PKEY_get_bn_param(other.key.get(), OSSL_PKEY_PARAM_PRIV_KEY, &priv);
    BignumPtr priv_owner(priv);
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv);
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
    EVP_PKEY* key = nullptr;
    if (EVP_PKEY_fromdata_init(ctx) == 1) EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return EvpPkeyPtr(key);
}

class EngineChainCacheTest : public EngineVersionTest {
protected:
    VerifiedChainCache& cache() { return *VerifiedChainCache::of(ctx_.get()); }
};

INSTANTIATE_TEST_SUITE_P(Versions, EngineChainCacheTest,
                         ::testing::Values(Mode{TLS1_2_VERSION, false}, Mode{TLS1_3_VERSION, false}),
                         [](const ::testing::TestParamInfo<Mode>& param) {
                             return std::string(param.param.version == TLS1_3_VERSION ? "Tls13" : "Tls12");
                         });

TEST_P(EngineChainCacheTest, SecondHandshakeWithTheSameChainIsServedFromTheCache) {
    gate_.verdict = ChainVerdict::accept;
    ASSERT_NO_FATAL_FAILURE(start_with_gate(client_options()));
    ASSERT_TRUE(pump().handshake_done);
    EXPECT_EQ(cache().hits(), 0u);
    ASSERT_NO_FATAL_FAILURE(reconnect(client_options(), &gate_));
    const CycleEvents events = pump();
    EXPECT_EQ(events.failure, std::nullopt);
    EXPECT_TRUE(events.handshake_done);
    EXPECT_EQ(cache().hits(), 1u);
    EXPECT_EQ(X509_cmp(engine_->peer_certificate(), pki().client.get()), 0);
}

// Re-validation during the session reads SSL_get0_verified_chain; a cache hit must leave the
// same chain there as a real verification does.
TEST_P(EngineChainCacheTest, VerifiedChainIsKeptAfterACacheHit) {
    ASSERT_NO_FATAL_FAILURE(start(server_options(), client_options()));
    ASSERT_TRUE(pump().handshake_done);
    ASSERT_NO_FATAL_FAILURE(reconnect(client_options()));
    ASSERT_TRUE(pump().handshake_done);
    ASSERT_EQ(cache().hits(), 1u);
    STACK_OF(X509)* chain = engine_->verified_chain();
    ASSERT_EQ(sk_X509_num(chain), 3);
    EXPECT_EQ(sk_X509_value(chain, 0), engine_->peer_certificate());  // this handshake's leaf
    EXPECT_EQ(X509_cmp(sk_X509_value(chain, 1), pki().intermediate.get()), 0);
    EXPECT_EQ(X509_cmp(sk_X509_value(chain, 2), pki().root.get()), 0);
}

TEST_P(EngineChainCacheTest, RevocationGateIsAskedOnACacheHitWithTheWholeChain) {
    ASSERT_NO_FATAL_FAILURE(start_with_gate(client_options()));
    ASSERT_TRUE(pump().verification_paused);
    engine_->resume_verification(ChainVerdict::accept);
    ASSERT_TRUE(pump().handshake_done);
    ASSERT_NO_FATAL_FAILURE(reconnect(client_options(), &gate_));
    ASSERT_TRUE(pump().verification_paused);
    EXPECT_EQ(cache().hits(), 1u);
    STACK_OF(X509)* chain = engine_->pending_chain();
    ASSERT_EQ(sk_X509_num(chain), 3);
    EXPECT_EQ(X509_cmp(sk_X509_value(chain, 0), pki().client.get()), 0);
    EXPECT_EQ(X509_cmp(sk_X509_value(chain, 2), pki().root.get()), 0);
    engine_->resume_verification(ChainVerdict::revoked);
    EXPECT_EQ(pump().failure, "certificate revoked");
    EXPECT_EQ(alert_seen_by_client(), SSL_AD_CERTIFICATE_REVOKED);
}

TEST_P(EngineChainCacheTest, CertificateWithTheWrongKeyIsRefusedAfterACacheHit) {
    ASSERT_NO_FATAL_FAILURE(start(server_options(), client_options()));
    ASSERT_TRUE(pump().handshake_done);
    EvpPkeyPtr wrong = forged_key(pki().client, pki().server);
    ASSERT_NE(wrong, nullptr);
    ClientOptions impostor = client_options();
    impostor.signing_key = wrong.get();
    ASSERT_NO_FATAL_FAILURE(reconnect(impostor));
    const CycleEvents events = pump();
    EXPECT_EQ(cache().hits(), 1u);  // the chain itself was known...
    ASSERT_TRUE(events.failure);    // ...but CertificateVerify does not verify
    EXPECT_NE(events.failure->find("bad signature"), std::string::npos) << *events.failure;
    EXPECT_FALSE(engine_->handshake_complete());
}

TEST_P(EngineChainCacheTest, AnotherContextDoesNotShareTheCache) {
    ASSERT_NO_FATAL_FAILURE(start(server_options(), client_options()));
    ASSERT_TRUE(pump().handshake_done);
    ASSERT_NO_FATAL_FAILURE(start(server_options(), client_options()));  // a new context, as a reload makes
    ASSERT_TRUE(pump().handshake_done);
    EXPECT_EQ(cache().hits(), 0u);
    EXPECT_EQ(cache().misses(), 1u);
}

TEST_P(EngineChainCacheTest, RefusedChainIsNotCached) {
    ClientOptions stranger = client_options();
    stranger.leaf = &pki().stranger_client;
    stranger.leaf_issuer = nullptr;
    ASSERT_NO_FATAL_FAILURE(start(server_options(), stranger));
    EXPECT_EQ(pump().failure, "untrusted issuer");
    ASSERT_NO_FATAL_FAILURE(reconnect(stranger));
    EXPECT_EQ(pump().failure, "untrusted issuer");
    EXPECT_EQ(cache().hits(), 0u);
    EXPECT_EQ(cache().size(), 0u);
}

// ---------------------------------------------------------------------------------------
// TLS 1.3 after the handshake in tls::Record13 (own_record_layer), against OpenSSL's client.

class OwnRecordLayerTest : public EngineTest {
protected:
    void SetUp() override {
        own_record_layer_ = true;
        ASSERT_NO_FATAL_FAILURE(start(server_options()));
        ASSERT_TRUE(pump().handshake_done);
        ASSERT_TRUE(engine_->own_record_layer());
    }
    // Both ways, so that each side's keys are proven after whatever the test did.
    void expect_round_trip(const std::string& tag) {
        client_->write("to server " + tag);
        pump();
        EXPECT_EQ(server_received(), "to server " + tag);
        engine_->clear_in(bytes("to client " + tag));
        pump();
        EXPECT_EQ(client_->read(), "to client " + tag);
    }
};

TEST_F(OwnRecordLayerTest, DataFlowsBothWaysRepeatedly) {
    for (int i = 0; i < 5; ++i) expect_round_trip(std::to_string(i));
}

TEST_F(OwnRecordLayerTest, ClientKeyUpdateIsFollowed) {
    ASSERT_EQ(SSL_key_update(client_->ssl(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
    expect_round_trip("after an update");
    ASSERT_EQ(SSL_key_update(client_->ssl(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
    expect_round_trip("after a second one");
}

TEST_F(OwnRecordLayerTest, RequestedKeyUpdateIsAnsweredAndBothSidesRekey) {
    ASSERT_EQ(SSL_key_update(client_->ssl(), SSL_KEY_UPDATE_REQUESTED), 1);
    client_->write("x");
    pump();
    EXPECT_EQ(server_received(), "x");
    // The client reads our KeyUpdate before this data, or it could not decrypt the data.
    expect_round_trip("after the requested update");
    ASSERT_EQ(SSL_key_update(client_->ssl(), SSL_KEY_UPDATE_REQUESTED), 1);
    expect_round_trip("after a second requested update");
}

TEST_F(OwnRecordLayerTest, LargeTransfersSplitIntoRecordsAndArriveWhole) {
    std::string big(300 * 1000, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    engine_->clear_in(bytes(big));
    pump();
    std::string got;
    for (int i = 0; i < 100 && got.size() < big.size(); ++i) got += client_->read();
    EXPECT_EQ(got, big);
    client_->write(big);
    pump();
    EXPECT_EQ(server_received(), big);
}

TEST_F(OwnRecordLayerTest, RecordsCutAtEveryPossiblePointAreReassembled) {
    client_->write("first record");
    client_->write("second");
    std::vector<std::uint8_t> wire = client_->take();
    for (std::size_t cut = 1; cut < wire.size(); cut += 3) {  // a byte at a time, and so on
        std::size_t n = std::min<std::size_t>(cut % 11 + 1, wire.size());
        std::vector<std::uint8_t> piece(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(std::min(n, wire.size())));
        wire.erase(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(piece.size()));
        engine_->enc_in(piece);
        EXPECT_EQ(engine_->cycle().failure, std::nullopt);
        if (wire.empty()) break;
    }
    engine_->enc_in(wire);
    engine_->cycle();
    EXPECT_EQ(server_received(), "first recordsecond");
    EXPECT_EQ(engine_->enc_in_pending(), 0u);
}

TEST_F(OwnRecordLayerTest, PaddedRecordsAreOpened) {
    ASSERT_EQ(SSL_set_block_padding(client_->ssl(), 512), 1);
    expect_round_trip("padded");
}

TEST_F(OwnRecordLayerTest, ATamperedRecordFailsWithBadRecordMac) {
    client_->write("secret");
    std::vector<std::uint8_t> wire = client_->take();
    ASSERT_GT(wire.size(), 10u);
    wire[wire.size() - 3] ^= 0x01;  // inside the tag
    engine_->enc_in(wire);
    const CycleEvents events = engine_->cycle();
    ASSERT_TRUE(events.failure);
    EXPECT_NE(events.failure->find("bad record mac"), std::string::npos) << *events.failure;
    EXPECT_EQ(server_received(), "");
    std::vector<std::uint8_t> alert;
    engine_->take_enc_out(alert);
    client_->give(alert);
    client_->read();
    EXPECT_EQ(client_->alert_received(), SSL_AD_BAD_RECORD_MAC);
}

TEST_F(OwnRecordLayerTest, AnUnprotectedRecordAfterTheHandshakeIsRefused) {
    const std::vector<std::uint8_t> plain_alert = {21, 3, 3, 0, 2, 1, 0};  // a clear close_notify
    engine_->enc_in(plain_alert);
    const CycleEvents events = engine_->cycle();
    ASSERT_TRUE(events.failure);
    EXPECT_NE(events.failure->find("unprotected record"), std::string::npos) << *events.failure;
}

TEST_F(OwnRecordLayerTest, AnOversizedRecordIsRefusedBeforeItArrives) {
    const std::vector<std::uint8_t> header = {23, 3, 3, 0x48, 0x01};  // 18 433 > 2^14 + 256
    engine_->enc_in(header);
    const CycleEvents events = engine_->cycle();
    ASSERT_TRUE(events.failure);
    EXPECT_NE(events.failure->find("record too long"), std::string::npos) << *events.failure;
}

TEST_F(OwnRecordLayerTest, ShutdownAndCloseNotifyBothWays) {
    expect_round_trip("before closing");
    SSL_shutdown(client_->ssl());
    const CycleEvents events = pump();
    EXPECT_TRUE(events.peer_closed);
    EXPECT_EQ(events.failure, std::nullopt);
    engine_->shutdown();
    pump();
    EXPECT_EQ(client_->read(), "");
    EXPECT_EQ(client_->read_error(), SSL_ERROR_ZERO_RETURN);
}

TEST_F(OwnRecordLayerTest, AFloodOfKeyUpdatesIsRefused) {
    for (int i = 0; i < 33; ++i) {  // OpenSSL itself allows 32 in a row
        ASSERT_EQ(SSL_key_update(client_->ssl(), SSL_KEY_UPDATE_REQUESTED), 1);
        ASSERT_EQ(SSL_do_handshake(client_->ssl()), 1);  // sends it
    }
    engine_->enc_in(client_->take());
    const CycleEvents events = engine_->cycle();
    ASSERT_TRUE(events.failure);
    EXPECT_NE(events.failure->find("too many records without application data"), std::string::npos) << *events.failure;
}

TEST_F(OwnRecordLayerTest, KeyUpdatesBetweenDataAreFine) {
    for (int i = 0; i < 40; ++i) {
        ASSERT_EQ(SSL_key_update(client_->ssl(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
        client_->write("d");
    }
    pump();
    EXPECT_EQ(server_received(), std::string(40, 'd'));
}

TEST_F(OwnRecordLayerTest, NothingFollowsOurCloseNotify) {
    engine_->shutdown();
    engine_->shutdown();
    engine_->clear_in(bytes("too late"));
    engine_->cycle();
    std::vector<std::uint8_t> wire;
    engine_->take_enc_out(wire);
    EXPECT_EQ(wire.size(), 5u + 2 + 1 + 16);  // one record: the alert, its type, the tag
    client_->give(wire);
    EXPECT_EQ(client_->read(), "");
    EXPECT_EQ(client_->read_error(), SSL_ERROR_ZERO_RETURN);
}

TEST_F(EngineTest, WithoutAClientCertificateTheOwnRecordLayerHasNoChain) {
    own_record_layer_ = true;
    ServerContextOptions options = server_options();
    options.verify_peer = PeerVerification::optional;
    ClientOptions client;
    client.leaf = nullptr;
    client.leaf_issuer = nullptr;
    ASSERT_NO_FATAL_FAILURE(start(options, client));
    ASSERT_TRUE(pump().handshake_done);
    EXPECT_TRUE(engine_->own_record_layer());
    EXPECT_EQ(engine_->verified_chain(), nullptr);  // as with OpenSSL: nothing to re-check
}

TEST_F(EngineTest, DataInTheClientsFinishedFlightReachesTheOwnRecordLayer) {
    own_record_layer_ = true;
    ASSERT_NO_FATAL_FAILURE(start(server_options()));
    // Run the handshake until the client is done, but hold its last flight back...
    for (int round = 0; round < kMaxRounds && !client_->handshake_done(); ++round) {
        client_->step();
        if (client_->handshake_done()) break;
        engine_->enc_in(client_->take());
        engine_->cycle();
        std::vector<std::uint8_t> to_client;
        engine_->take_enc_out(to_client);
        client_->give(to_client);
    }
    ASSERT_TRUE(client_->handshake_done());
    client_->write("right behind Finished");  // ...so this record travels with it
    engine_->enc_in(client_->take());
    const CycleEvents events = engine_->cycle();
    EXPECT_TRUE(events.handshake_done);
    EXPECT_EQ(events.failure, std::nullopt);
    EXPECT_TRUE(engine_->own_record_layer());
    EXPECT_EQ(server_received(), "right behind Finished");
}

TEST_F(EngineTest, ChaCha20Poly1305AndAes256GcmUseTheOwnRecordLayer) {
    for (const char* suite : {"TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"}) {
        SCOPED_TRACE(suite);
        own_record_layer_ = true;
        ServerContextOptions options = server_options();
        options.protocol.ciphersuites = suite;
        ASSERT_NO_FATAL_FAILURE(start(options));
        ASSERT_TRUE(pump().handshake_done);
        EXPECT_TRUE(engine_->own_record_layer());
        EXPECT_STREQ(engine_->cipher(), suite);
        ASSERT_EQ(SSL_key_update(client_->ssl(), SSL_KEY_UPDATE_REQUESTED), 1);
        client_->write("ping");
        pump();
        EXPECT_EQ(server_received(), "ping");
        engine_->clear_in(bytes("pong"));
        pump();
        EXPECT_EQ(client_->read(), "pong");
    }
}

TEST_F(EngineTest, ACcmSuiteStaysWithOpenSsl) {
    own_record_layer_ = true;
    ServerContextOptions options = server_options();
    options.protocol.ciphersuites = "TLS_AES_128_CCM_SHA256";
    ClientOptions client;
    ASSERT_NO_FATAL_FAILURE(start(options, client));
    SSL_set_ciphersuites(client_->ssl(), "TLS_AES_128_CCM_SHA256");
    ASSERT_TRUE(pump().handshake_done);
    EXPECT_FALSE(engine_->own_record_layer());
    client_->write("still works");
    pump();
    EXPECT_EQ(server_received(), "still works");
}

}  // namespace
}  // namespace ocspgate::tls
