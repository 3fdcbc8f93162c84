// ocspgate-floor: the least a TLS-terminating TCP proxy does per connection with OpenSSL 3.0,
// the floor perf/compare measures ocspgate's CPU per connection against (issue #28 point 3).
//
// One thread, epoll, non-blocking sockets. Per connection: accept; an SSL over memory BIOs,
// as ocspgate's tls::Engine uses, with ocspgate's default protocol settings (no tickets, no
// session cache, released buffers, renegotiation and compression off); the client's chain
// verified against a CA file (mTLS, no revocation check); one backend connection; plaintext
// relayed both ways; both closed when either side closes. No logs, metrics, timers or
// limits: what is left when everything ocspgate adds is taken away.
//
//   ocspgate-floor --port P --backend-port B --chain server-chain.pem --key server.key --ca clients-ca.pem
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Options {
    int port = 0;
    int backend_port = 0;
    std::string chain, key, ca;
};

struct Connection;

// What an epoll event points at: one socket of a connection.
struct Side {
    Connection* conn;
    int fd = -1;
    bool backend;
    std::vector<std::uint8_t> out;  // bytes the socket did not take yet
    bool wants_out = false;         // EPOLLOUT armed, only while `out` holds bytes
};

struct Connection {
    Side client{this, -1, false, {}, false};
    Side backend{this, -1, true, {}, false};
    SSL* ssl = nullptr;
    BIO* enc_in = nullptr;   // owned by ssl
    BIO* enc_out = nullptr;  // owned by ssl
    bool handshake_done = false;
    bool backend_connected = false;
    bool closed = false;
};

int epoll_fd = -1;
std::vector<Connection*> closed_this_round;

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "ocspgate-floor: %s: %s\n", what, std::strerror(errno));
    ERR_print_errors_fp(stderr);
    std::exit(1);
}

sockaddr_in loopback(int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

void watch(Side& side, std::uint32_t events, int op) {
    epoll_event e{};
    e.events = events;
    e.data.ptr = &side;
    if (epoll_ctl(epoll_fd, op, side.fd, &e) != 0) die("epoll_ctl");
}

void close_connection(Connection* c) {
    if (c->closed) return;
    c->closed = true;
    if (c->client.fd >= 0) close(c->client.fd);
    if (c->backend.fd >= 0) close(c->backend.fd);
    SSL_free(c->ssl);
    closed_this_round.push_back(c);  // freed after this epoll_wait batch
}

// Writes what `side` holds; false when the socket failed.
bool flush(Side& side) {
    std::size_t done = 0;
    while (done < side.out.size()) {
        ssize_t n = send(side.fd, side.out.data() + done, side.out.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN) break;
        if (n < 0) return false;
        done += static_cast<std::size_t>(n);
    }
    side.out.erase(side.out.begin(), side.out.begin() + static_cast<std::ptrdiff_t>(done));
    if (side.wants_out != !side.out.empty()) {  // an epoll_ctl only when that changes
        side.wants_out = !side.out.empty();
        watch(side, EPOLLIN | (side.wants_out ? static_cast<std::uint32_t>(EPOLLOUT) : 0U), EPOLL_CTL_MOD);
    }
    return true;
}

void take_ciphertext(Connection* c) {
    char buf[16384];
    int n;
    while ((n = BIO_read(c->enc_out, buf, sizeof buf)) > 0) c->client.out.insert(c->client.out.end(), buf, buf + n);
}

void start_backend(Connection* c, int backend_port) {
    c->backend.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->backend.fd < 0) return close_connection(c);
    int one = 1;
    setsockopt(c->backend.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in to = loopback(backend_port);
    if (connect(c->backend.fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS)
        return close_connection(c);
    watch(c->backend, EPOLLIN | EPOLLOUT, EPOLL_CTL_ADD);
}

// Runs the handshake, then moves received plaintext toward the backend; sends what OpenSSL wrote.
void drive(Connection* c, int backend_port) {
    if (!c->handshake_done) {
        int r = SSL_do_handshake(c->ssl);
        if (r == 1) {
            c->handshake_done = true;
            start_backend(c, backend_port);
        } else if (SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_READ) {
            take_ciphertext(c);  // the alert
            flush(c->client);
            return close_connection(c);
        }
    }
    if (c->handshake_done && !c->closed) {
        std::uint8_t buf[16384];
        int n;
        while ((n = SSL_read(c->ssl, buf, sizeof buf)) > 0) c->backend.out.insert(c->backend.out.end(), buf, buf + n);
        int error = SSL_get_error(c->ssl, n);
        if (error != SSL_ERROR_WANT_READ) return close_connection(c);  // close_notify or a failure
        if (c->backend_connected && !flush(c->backend)) return close_connection(c);
    }
    take_ciphertext(c);
    if (!c->closed && !flush(c->client)) close_connection(c);
}

void on_client(Connection* c, std::uint32_t events, int backend_port) {
    if (events & EPOLLOUT && !flush(c->client)) return close_connection(c);
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
    char buf[16384];
    for (;;) {
        ssize_t n = recv(c->client.fd, buf, sizeof buf, 0);
        if (n > 0) {
            BIO_write(c->enc_in, buf, static_cast<int>(n));
            continue;
        }
        if (n < 0 && errno == EAGAIN) break;
        return close_connection(c);  // EOF or error
    }
    drive(c, backend_port);
}

void on_backend(Connection* c, std::uint32_t events) {
    if (!c->backend_connected && events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
        int error = 0;
        socklen_t len = sizeof error;
        getsockopt(c->backend.fd, SOL_SOCKET, SO_ERROR, &error, &len);
        if (error != 0) return close_connection(c);
        c->backend_connected = true;
        watch(c->backend, EPOLLIN, EPOLL_CTL_MOD);
    }
    if (events & EPOLLOUT && !flush(c->backend)) return close_connection(c);
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
    std::uint8_t buf[16384];
    for (;;) {
        ssize_t n = recv(c->backend.fd, buf, sizeof buf, 0);
        if (n > 0) {
            SSL_write(c->ssl, buf, static_cast<int>(n));
            continue;
        }
        if (n < 0 && errno == EAGAIN) break;
        return close_connection(c);
    }
    take_ciphertext(c);
    if (!flush(c->client)) close_connection(c);
}

void accept_all(int listener, SSL_CTX* ctx) {
    for (;;) {
        int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
        if (fd < 0) return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto* c = new Connection;
        c->client.fd = fd;
        c->ssl = SSL_new(ctx);
        c->enc_in = BIO_new(BIO_s_mem());
        c->enc_out = BIO_new(BIO_s_mem());
        SSL_set_bio(c->ssl, c->enc_in, c->enc_out);
        SSL_set_accept_state(c->ssl);
        watch(c->client, EPOLLIN, EPOLL_CTL_ADD);
    }
}

SSL_CTX* make_context(const Options& o) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, o.chain.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, o.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_load_verify_locations(ctx, o.ca.c_str(), nullptr) != 1)
        die("TLS context");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    return ctx;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string flag = argv[i];
        const char* value = argv[i + 1];
        if (flag == "--port") o.port = std::atoi(value);
        else if (flag == "--backend-port") o.backend_port = std::atoi(value);
        else if (flag == "--chain") o.chain = value;
        else if (flag == "--key") o.key = value;
        else if (flag == "--ca") o.ca = value;
        else argc = 0;
    }
    if (o.port <= 0 || o.backend_port <= 0 || o.chain.empty() || o.key.empty() || o.ca.empty()) {
        std::fprintf(stderr, "usage: ocspgate-floor --port P --backend-port B --chain PEM --key PEM --ca PEM\n");
        std::exit(2);
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    Options o = parse(argc, argv);
    SSL_CTX* ctx = make_context(o);
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in at = loopback(o.port);
    if (bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0 || listen(listener, 4096) != 0) die("listen");
    epoll_fd = epoll_create1(0);
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.ptr = nullptr;  // the listener
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &e);
    epoll_event events[256];
    for (;;) {
        int n = epoll_wait(epoll_fd, events, 256, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) die("epoll_wait");
        for (int i = 0; i < n; ++i) {
            auto* side = static_cast<Side*>(events[i].data.ptr);
            if (side == nullptr) {
                accept_all(listener, ctx);
                continue;
            }
            if (side->conn->closed) continue;
            if (side->backend) on_backend(side->conn, events[i].events);
            else on_client(side->conn, events[i].events, o.backend_port);
        }
        for (Connection* c : closed_this_round) delete c;
        closed_this_round.clear();
    }
}
