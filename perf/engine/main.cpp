// ocspgate-engine-probe: what one server tls::Engine costs, without sockets or the proxy.
//
//   ocspgate-engine-probe memory PKI_DIR [ENGINES [own|openssl]]
//                                                    heap held per idle Engine after a full TLS 1.3
//                                                    mTLS handshake and a 16-byte echo (glibc
//                                                    mallinfo2 deltas around the server's calls only)
//   ocspgate-engine-probe bulk PKI_DIR [ROUNDS [own|openssl]]
//                                                    server-side thread CPU per MB forwarded both
//                                                    ways (client records in, the same bytes out)
//
// own (the default, as in the product): TLS 1.3 leaves OpenSSL after the handshake for
// tls::Record13 (own_record_layer); openssl: OpenSSL keeps the connection.
//
// PKI_DIR is a tests/pki/make-pki.sh folder (server-chain.pem, server.key, clients-ca.pem,
// client-extra-01-chain.pem and .key). The client is an in-process OpenSSL client over memory
// BIOs; its own allocations and CPU are not counted. Bounded: ENGINES ≤ 100 000, ROUNDS ≤ 1e6.
// For heap profiles by allocation site run `memory` under heaptrack (perf/README.md).
#include <malloc.h>
#include <openssl/ssl.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "tls/context.h"
#include "tls/engine.h"

namespace {

using ocspgate::tls::Engine;
using ocspgate::tls::SslCtxPtr;
using ocspgate::tls::SslPtr;

long heap_in_use() { return static_cast<long>(mallinfo2().uordblks); }

double thread_cpu_s() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// A TLS 1.3 client with a client certificate, over memory BIOs.
class Client {
public:
    Client(SSL_CTX* ctx) : ssl_(SSL_new(ctx)) {
        in_ = BIO_new(BIO_s_mem());
        out_ = BIO_new(BIO_s_mem());
        BIO_set_mem_eof_return(in_, -1);
        BIO_set_mem_eof_return(out_, -1);
        SSL_set_bio(ssl_.get(), in_, out_);
        SSL_set_connect_state(ssl_.get());
    }
    SSL* ssl() const { return ssl_.get(); }
    void take(std::vector<std::uint8_t>& to_server) const {
        to_server.resize(BIO_ctrl_pending(out_));
        if (!to_server.empty()) BIO_read(out_, to_server.data(), static_cast<int>(to_server.size()));
    }
    void give(const std::vector<std::uint8_t>& from_server) const {
        if (!from_server.empty()) BIO_write(in_, from_server.data(), static_cast<int>(from_server.size()));
    }
    void drain_plaintext() const {
        char sink[16 * 1024];
        std::size_t got = 0;
        while (SSL_read_ex(ssl_.get(), sink, sizeof sink, &got) == 1) {
        }
    }

private:
    SslPtr ssl_;
    BIO* in_ = nullptr;   // owned by ssl_
    BIO* out_ = nullptr;  // owned by ssl_
};

SslCtxPtr client_context(const std::string& pki) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), (pki + "/client-extra-01-chain.pem").c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx.get(), (pki + "/client-extra-01.key").c_str(), SSL_FILETYPE_PEM) != 1)
        return nullptr;
    return ctx;
}

// Server-side work (heap delta, CPU) of the calls an owner makes for one batch of ciphertext:
// bytes in, cycle, plaintext echoed back as with an echo backend, ciphertext out.
struct ServerCost {
    long heap = 0;
    double cpu_s = 0;
    std::size_t plaintext = 0;
};

void serve(Engine& engine, const std::vector<std::uint8_t>& in, std::vector<std::uint8_t>& out, ServerCost& cost) {
    const long heap_before = heap_in_use();
    const double cpu_before = thread_cpu_s();
    engine.enc_in(in);
    engine.cycle();
    std::vector<std::uint8_t> plaintext;
    engine.take_clear_out(plaintext);
    if (!plaintext.empty()) {
        cost.plaintext += plaintext.size();
        engine.clear_in(plaintext);
        engine.cycle();
    }
    plaintext = {};
    out.clear();  // reserved by the caller: no allocation counted here
    engine.take_enc_out(out);
    cost.cpu_s += thread_cpu_s() - cpu_before;
    cost.heap += heap_in_use() - heap_before;
}

// Handshake plus a 16-byte echo; false if the handshake did not complete.
bool connect(Engine& engine, const Client& client, std::vector<std::uint8_t>& out, ServerCost& cost) {
    std::vector<std::uint8_t> to_server;
    for (int round = 0; round < 20; ++round) {
        SSL_do_handshake(client.ssl());
        if (round == 4) SSL_write(client.ssl(), "0123456789abcdef", 16);
        client.take(to_server);
        serve(engine, to_server, out, cost);
        client.give(out);
        client.drain_plaintext();
    }
    return engine.handshake_complete() && SSL_is_init_finished(client.ssl());
}

int memory(SSL_CTX* server, SSL_CTX* client_ctx, long engines) {
    std::vector<std::unique_ptr<Engine>> held;
    std::vector<std::unique_ptr<Client>> clients;
    std::vector<std::uint8_t> out;
    out.reserve(1 << 20);
    ServerCost cost;
    long done = 0;
    for (long i = 0; i < engines; ++i) {
        const long before = heap_in_use();
        auto engine = Engine::create(server, nullptr);
        if (!engine) return std::fprintf(stderr, "%s\n", engine.error().message.c_str()), 1;
        cost.heap += heap_in_use() - before;
        auto client = std::make_unique<Client>(client_ctx);
        done += connect(**engine, *client, out, cost) ? 1 : 0;
        held.push_back(std::move(engine).value());
        clients.push_back(std::move(client));
    }
    std::printf("%ld/%ld handshakes completed; heap held per idle server Engine: %.0f bytes\n", done, engines,
                static_cast<double>(cost.heap) / static_cast<double>(engines));
    return done == engines ? 0 : 1;
}

int bulk(SSL_CTX* server, SSL_CTX* client_ctx, long rounds) {
    auto engine = std::move(Engine::create(server, nullptr)).value();
    Client client(client_ctx);
    std::vector<std::uint8_t> to_server, out;
    out.reserve(1 << 20);
    ServerCost cost;
    if (!connect(*engine, client, out, cost)) return std::fprintf(stderr, "handshake failed\n"), 1;
    cost = {};
    const std::vector<std::uint8_t> data(16 * 1024, 'x');  // one full TLS record per round
    for (long i = 0; i < rounds; ++i) {
        SSL_write(client.ssl(), data.data(), static_cast<int>(data.size()));
        client.take(to_server);
        serve(*engine, to_server, out, cost);
        client.give(out);
        client.drain_plaintext();
    }
    const double mb = static_cast<double>(cost.plaintext) / (1024.0 * 1024.0);
    std::printf("%.0f MB each way; server CPU %.3f s = %.0f µs per MB (decrypt in + encrypt out)\n", mb, cost.cpu_s,
                cost.cpu_s * 1e6 / mb);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (argc < 3 || (mode != "memory" && mode != "bulk")) {
        std::fprintf(stderr, "usage: %s memory|bulk PKI_DIR [COUNT [own|openssl]]\n", argv[0]);
        return 2;
    }
    const std::string pki = argv[2];
    const long count = argc > 3 ? std::strtol(argv[3], nullptr, 10) : (mode == "memory" ? 500 : 3000);
    if (count < 1 || count > (mode == "memory" ? 100'000 : 1'000'000)) return std::fprintf(stderr, "bad COUNT\n"), 2;
    ocspgate::tls::ServerContextOptions o;
    o.certificate_chain = pki + "/server-chain.pem";
    o.private_key = pki + "/server.key";
    o.client_ca = pki + "/clients-ca.pem";
    const std::string records = argc > 4 ? argv[4] : "own";
    if (records != "own" && records != "openssl") return std::fprintf(stderr, "own or openssl, not %s\n", records.c_str()), 2;
    o.own_record_layer = records == "own";
    auto server = ocspgate::tls::make_server_context(o);
    if (!server) return std::fprintf(stderr, "%s\n", server.error().message.c_str()), 1;
    SslCtxPtr client = client_context(pki);
    if (!client) return std::fprintf(stderr, "cannot load the client certificate from %s\n", pki.c_str()), 1;
    return mode == "memory" ? memory(server->get(), client.get(), count) : bulk(server->get(), client.get(), count);
}
