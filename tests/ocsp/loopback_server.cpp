#include "loopback_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

namespace ocspgate::ocsp::testing {
namespace {

uv_stream_t* as_stream(uv_tcp_t* tcp) { return reinterpret_cast<uv_stream_t*>(tcp); }
uv_handle_t* as_handle(uv_tcp_t* tcp) { return reinterpret_cast<uv_handle_t*>(tcp); }

// True once `bytes` hold a request's head and its Content-Length worth of body.
bool is_complete_request(const std::string& bytes) {
    const auto head_end = bytes.find("\r\n\r\n");
    if (head_end == std::string::npos) return false;
    std::size_t length = 0;
    const auto field = bytes.find("Content-Length: ");
    if (field != std::string::npos && field < head_end) length = std::stoul(bytes.substr(field + 16));
    return bytes.size() >= head_end + 4 + length;
}

}  // namespace

CannedReply http_ok(const std::vector<std::uint8_t>& body, const std::string& content_type) {
    std::string bytes = "HTTP/1.1 200 OK\r\nContent-Type: " + content_type +
                        "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    bytes.append(body.begin(), body.end());
    return {CannedReply::Kind::respond, std::move(bytes)};
}

CannedReply http_status(int status) {
    return {CannedReply::Kind::respond,
            "HTTP/1.1 " + std::to_string(status) + " Canned\r\nContent-Length: 0\r\n\r\n"};
}

CannedReply silence() { return {CannedReply::Kind::silent, {}}; }
CannedReply hang_up() { return {CannedReply::Kind::hang_up, {}}; }

struct LoopbackServer::Connection {
    explicit Connection(LoopbackServer& owner) : server(owner) {}
    LoopbackServer& server;
    uv_tcp_t tcp{};
    uv_write_t write{};
    std::string received;
    std::string outgoing;  // the reply being written
    bool answered = false;
};

LoopbackServer::LoopbackServer(uv_loop_t* loop, std::vector<CannedReply> replies)
    : loop_(loop), replies_(std::move(replies)) {
    uv_tcp_init(loop_, &listener_);
    listener_.data = this;
    sockaddr_in address{};
    uv_ip4_addr("127.0.0.1", 0, &address);
    status_ = uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&address), 0);
    if (status_ == 0) status_ = uv_listen(as_stream(&listener_), 64, on_connection);
    sockaddr_in bound{};
    int length = sizeof bound;
    uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &length);
    port_ = ntohs(bound.sin_port);
    // Only the exchanges keep the loop running, never the listener.
    uv_unref(as_handle(&listener_));
}

LoopbackServer::~LoopbackServer() { EXPECT_TRUE(live_.empty()) << "connections outlived the test's loop"; }

std::string LoopbackServer::url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void LoopbackServer::close() {
    if (!uv_is_closing(as_handle(&listener_))) uv_close(as_handle(&listener_), nullptr);
    for (Connection* connection : live_) close_connection(*connection);
}

void LoopbackServer::on_connection(uv_stream_t* listener, int status) noexcept {
    auto& server = *static_cast<LoopbackServer*>(listener->data);
    if (status < 0) return;
    auto* connection = new Connection(server);
    uv_tcp_init(server.loop_, &connection->tcp);
    connection->tcp.data = connection;
    server.live_.insert(connection);
    if (uv_accept(listener, as_stream(&connection->tcp)) != 0) return server.close_connection(*connection);
    uv_read_start(
        as_stream(&connection->tcp),
        [](uv_handle_t*, std::size_t suggested, uv_buf_t* buffer) {
            *buffer = uv_buf_init(new char[suggested], static_cast<unsigned>(suggested));
        },
        on_read);
}

void LoopbackServer::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buffer) noexcept {
    const std::unique_ptr<char[]> owned(buffer->base);
    auto& connection = *static_cast<Connection*>(stream->data);
    if (nread < 0) return connection.server.close_connection(connection);  // the client is done
    connection.received.append(buffer->base, static_cast<std::size_t>(nread));
    if (connection.answered || !is_complete_request(connection.received)) return;
    connection.answered = true;
    connection.server.answer(connection);
}

void LoopbackServer::answer(Connection& connection) {
    const CannedReply& reply = replies_.at(std::min(request_lines_.size(), replies_.size() - 1));
    request_lines_.push_back(connection.received.substr(0, connection.received.find("\r\n")));
    request_heads_.push_back(connection.received.substr(0, connection.received.find("\r\n\r\n")));
    switch (reply.kind) {
        case CannedReply::Kind::silent: return;
        case CannedReply::Kind::hang_up: return close_connection(connection);
        case CannedReply::Kind::respond: break;
    }
    connection.outgoing = reply.bytes;
    const uv_buf_t buffer = uv_buf_init(connection.outgoing.data(), static_cast<unsigned>(connection.outgoing.size()));
    if (uv_write(&connection.write, as_stream(&connection.tcp), &buffer, 1, on_written) != 0)
        close_connection(connection);
}

void LoopbackServer::on_written(uv_write_t* request, int) noexcept {
    auto& connection = *static_cast<Connection*>(request->handle->data);
    connection.server.close_connection(connection);
}

void LoopbackServer::close_connection(Connection& connection) {
    if (!uv_is_closing(as_handle(&connection.tcp))) uv_close(as_handle(&connection.tcp), on_closed);
}

void LoopbackServer::on_closed(uv_handle_t* handle) noexcept {
    auto* connection = static_cast<Connection*>(handle->data);
    connection->server.live_.erase(connection);
    delete connection;
}

std::uint16_t closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

}  // namespace ocspgate::ocsp::testing
