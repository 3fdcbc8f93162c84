// The probe for "does another process listen here", against real sockets on loopback.
#include "proxy/core/address_owner.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

namespace ocspgate::proxy {
namespace {

// A socket of this process listening on 127.0.0.1 (any free port), with SO_REUSEPORT like an
// ocspgate worker's, so that only the probe's missing SO_REUSEPORT makes the bind fail.
class ListeningSocket {
public:
    ListeningSocket() {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int on = 1;
        setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(fd_, reinterpret_cast<sockaddr*>(&in), sizeof in);
        listen(fd_, 16);
        socklen_t len = sizeof in;
        getsockname(fd_, reinterpret_cast<sockaddr*>(&in), &len);
        port_ = ntohs(in.sin_port);
    }
    ~ListeningSocket() { ::close(fd_); }
    ListeningSocket(const ListeningSocket&) = delete;
    ListeningSocket& operator=(const ListeningSocket&) = delete;
    unsigned port() const { return port_; }

private:
    int fd_ = -1;
    unsigned port_ = 0;
};

conf::Listener listener_on(const char* host, unsigned port) {
    conf::Listener l;
    l.name = "sip";
    l.listen.text = std::string(host) + ":" + std::to_string(port);
    auto& in = reinterpret_cast<sockaddr_in&>(l.listen.storage);
    in.sin_family = AF_INET;
    in.sin_port = htons(static_cast<std::uint16_t>(port));
    inet_pton(AF_INET, host, &in.sin_addr);
    l.listen.length = sizeof in;
    return l;
}

TEST(AddressOwner, AFreeAddressIsUnowned) {
    unsigned port;
    { ListeningSocket gone; port = gone.port(); }
    EXPECT_TRUE(check_address_unowned(listener_on("127.0.0.1", port)));
}

TEST(AddressOwner, AnAddressInUseIsRefusedNamingItAndItsOwner) {
    ListeningSocket held;
    auto result = check_address_unowned(listener_on("127.0.0.1", held.port()));
    ASSERT_FALSE(result);
    const std::string& message = result.error().message;
    EXPECT_NE(message.find("listener sip: 127.0.0.1:" + std::to_string(held.port()) + " is already in use by another process (pid " +
                           std::to_string(getpid())),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("share_listen_ports = true"), std::string::npos) << message;
}

TEST(AddressOwner, TheWildcardAddressOverlapsALoopbackListener) {
    ListeningSocket held;
    conf::Listener wildcard = listener_on("0.0.0.0", held.port());
    EXPECT_FALSE(check_address_unowned(wildcard));
    EXPECT_EQ(find_listening_process(wildcard.listen.storage).rfind("pid " + std::to_string(getpid()), 0), 0u);
}

}  // namespace
}  // namespace ocspgate::proxy
