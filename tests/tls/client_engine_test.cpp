// The client role of tls::Engine (backend_tls) against the server role, both ours, over
// memory BIOs: make_client_context's verification and create_client's name check.
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "tls/context.h"
#include "tls/engine.h"

namespace ocspgate::tls {
namespace {

using fixtures::Issued;

struct BackendPki {
    Issued root, server, stranger_root;
};

// Valid around the real clock, which the handshake checks against. The backend's certificate
// names "backend.test" and 127.0.0.1.
const BackendPki& pki() {
    static const BackendPki instance = [] {
        const std::time_t now = std::time(nullptr);
        auto spec = [now](const char* subject, const Issued* issuer, long serial,
                          std::vector<fixtures::ExtensionSpec> extensions) {
            fixtures::CertSpec s{subject, issuer, serial, std::move(extensions)};
            s.not_before = now - fixtures::one_day;
            s.not_after = now + 30 * fixtures::one_day;
            return s;
        };
        auto server_extensions = fixtures::leaf_extensions("serverAuth");
        server_extensions.push_back({NID_subject_alt_name, "DNS:backend.test,IP:127.0.0.1"});
        BackendPki p;
        p.root = fixtures::make_cert(spec("/O=Test/CN=Backend Root", nullptr, 1, fixtures::ca_extensions()));
        p.server = fixtures::make_cert(spec("/O=Test/CN=backend", &p.root, 2, server_extensions));
        p.stranger_root = fixtures::make_cert(spec("/O=Other/CN=Stranger Root", nullptr, 3, fixtures::ca_extensions()));
        return p;
    }();
    return instance;
}

const fixtures::TempDir& dir() {
    static const fixtures::TempDir instance;
    return instance;
}

SslCtxPtr backend_server_context() {
    ServerContextOptions o;
    o.certificate_chain = dir().write("backend.pem", fixtures::certificate_pem(pki().server.get()));
    o.private_key = dir().write("backend.key", fixtures::private_key_pem(pki().server.key.get()));
    o.verify_peer = PeerVerification::none;  // like slapd: no client certificate asked for
    return std::move(make_server_context(o)).value();
}

SslCtxPtr client_context(const Issued& trusted) {
    auto path = dir().write("ca-" + std::to_string(reinterpret_cast<std::uintptr_t>(&trusted)) + ".pem",
                            fixtures::certificate_pem(trusted.get()));
    auto ctx = make_client_context(path);
    EXPECT_TRUE(ctx) << (ctx ? "" : ctx.error().message);
    return std::move(ctx).value();
}

struct Outcome {
    std::optional<std::string> client_failure;
    bool client_done = false;
    bool server_done = false;
};

// Moves ciphertext both ways until neither engine has anything to send.
Outcome pump(Engine& client, Engine& server) {
    Outcome o;
    for (int round = 0; round < 20; ++round) {
        CycleEvents c = client.cycle();
        if (c.failure) o.client_failure = c.failure;
        o.client_done |= c.handshake_done;
        std::vector<std::uint8_t> to_server, to_client;
        client.take_enc_out(to_server);
        server.enc_in(to_server);
        CycleEvents s = server.cycle();
        o.server_done |= s.handshake_done;
        server.take_enc_out(to_client);
        client.enc_in(to_client);
        if (to_server.empty() && to_client.empty()) break;
    }
    return o;
}

struct Pair {
    SslCtxPtr server_ctx = backend_server_context();
    SslCtxPtr client_ctx;
    std::unique_ptr<Engine> server;
    std::unique_ptr<Engine> client;

    Pair(const Issued& trusted, const std::string& name) : client_ctx(client_context(trusted)) {
        server = std::move(Engine::create(server_ctx.get(), nullptr)).value();
        auto c = Engine::create_client(client_ctx.get(), name);
        EXPECT_TRUE(c) << (c ? "" : c.error().message);
        client = std::move(c).value();
    }
};

std::vector<std::uint8_t> bytes(std::string_view text) { return {text.begin(), text.end()}; }

TEST(ClientEngine, TrustedBackendWithMatchingDnsNameCarriesDataBothWays) {
    Pair p(pki().root, "backend.test");
    p.client->clear_in(bytes("request"));  // queued until the handshake is done
    Outcome o = pump(*p.client, *p.server);
    ASSERT_FALSE(o.client_failure) << *o.client_failure;
    EXPECT_TRUE(o.client_done && o.server_done);
    std::vector<std::uint8_t> got;
    p.server->take_clear_out(got);
    EXPECT_EQ(got, bytes("request"));
    p.server->clear_in(bytes("response"));
    pump(*p.client, *p.server);
    got.clear();
    p.client->take_clear_out(got);
    EXPECT_EQ(got, bytes("response"));
}

TEST(ClientEngine, TrustedBackendWithMatchingIpAddressIsAccepted) {
    Pair p(pki().root, "127.0.0.1");
    Outcome o = pump(*p.client, *p.server);
    EXPECT_FALSE(o.client_failure);
    EXPECT_TRUE(o.client_done);
}

TEST(ClientEngine, UntrustedBackendIsRefusedAsCertificateRejection) {
    Pair p(pki().stranger_root, "backend.test");
    Outcome o = pump(*p.client, *p.server);
    EXPECT_EQ(o.client_failure, "untrusted issuer");
    EXPECT_TRUE(p.client->certificate_rejected());
    EXPECT_FALSE(o.client_done);
}

TEST(ClientEngine, OtherDnsNameIsRefused) {
    Pair p(pki().root, "ldap.example.org");
    Outcome o = pump(*p.client, *p.server);
    EXPECT_EQ(o.client_failure, "name mismatch");
    EXPECT_TRUE(p.client->certificate_rejected());
}

TEST(ClientEngine, OtherIpAddressIsRefused) {
    Pair p(pki().root, "10.0.0.1");
    Outcome o = pump(*p.client, *p.server);
    EXPECT_EQ(o.client_failure, "IP address mismatch");
}

// A gate with a fixed answer: a verdict now, or nullopt to suspend the handshake.
struct FixedGate final : RevocationGate {
    std::optional<ChainVerdict> verdict;
    int asked = 0;
    std::optional<ChainVerdict> decide_now(STACK_OF(X509) * /*chain*/) override {
        ++asked;
        return verdict;
    }
};

struct GatedPair {
    SslCtxPtr server_ctx = backend_server_context();
    SslCtxPtr client_ctx;
    std::unique_ptr<Engine> server;
    std::unique_ptr<Engine> client;

    explicit GatedPair(RevocationGate& gate) {
        auto path = dir().write("gated-ca.pem", fixtures::certificate_pem(pki().root.get()));
        client_ctx = std::move(make_client_context(path, true)).value();
        server = std::move(Engine::create(server_ctx.get(), nullptr)).value();
        client = std::move(Engine::create_client(client_ctx.get(), "backend.test", &gate)).value();
    }
};

TEST(ClientEngine, RevokedBackendIsRefusedByTheGate) {
    FixedGate gate;
    gate.verdict = ChainVerdict::revoked;
    GatedPair p(gate);
    Outcome o = pump(*p.client, *p.server);
    EXPECT_EQ(o.client_failure, "certificate revoked");
    EXPECT_TRUE(p.client->certificate_rejected());
    EXPECT_EQ(gate.asked, 1);
}

TEST(ClientEngine, NameIsStillCheckedWithAGate) {
    FixedGate gate;
    gate.verdict = ChainVerdict::accept;
    SslCtxPtr server_ctx = backend_server_context();
    auto path = dir().write("gated-ca.pem", fixtures::certificate_pem(pki().root.get()));
    SslCtxPtr client_ctx = std::move(make_client_context(path, true)).value();
    auto server = std::move(Engine::create(server_ctx.get(), nullptr)).value();
    auto client = std::move(Engine::create_client(client_ctx.get(), "other.test", &gate)).value();
    Outcome o = pump(*client, *server);
    EXPECT_EQ(o.client_failure, "name mismatch");
    EXPECT_EQ(gate.asked, 0);  // the chain did not verify, so revocation was not asked
}

TEST(ClientEngine, SuspendedVerificationResumesWithTheVerdict) {
    FixedGate gate;  // no verdict now: suspend
    GatedPair p(gate);
    for (int round = 0; round < 5 && !p.client->pending_chain(); ++round) pump(*p.client, *p.server);
    ASSERT_NE(p.client->pending_chain(), nullptr);
    p.client->resume_verification(ChainVerdict::accept);
    Outcome o = pump(*p.client, *p.server);
    EXPECT_FALSE(o.client_failure);
    EXPECT_TRUE(o.client_done);
}

TEST(ClientEngine, ClientContextWithoutCaFileIsAnError) {
    auto ctx = make_client_context(dir().path() / "missing.pem");
    ASSERT_FALSE(ctx);
    EXPECT_NE(ctx.error().message.find("cannot load backend CA bundle"), std::string::npos) << ctx.error().message;
}

}  // namespace
}  // namespace ocspgate::tls
