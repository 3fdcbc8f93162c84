#include "proxy/core/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fmt/format.h>

namespace ocspgate::proxy {

std::string format_address(const sockaddr* addr) {
    char host[INET6_ADDRSTRLEN] = "";
    if (addr->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        return fmt::format("{}:{}", host, ntohs(in->sin_port));
    }
    if (addr->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        return fmt::format("[{}]:{}", host, ntohs(in6->sin6_port));
    }
    return "unknown";
}

std::string format_host(const sockaddr* addr) {
    char host[INET6_ADDRSTRLEN] = "";
    if (addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, host, sizeof host);
    if (addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, host, sizeof host);
    return host;
}

std::string peer_address(const uv_tcp_t& tcp) {
    sockaddr_storage storage{};
    int len = sizeof storage;
    if (uv_tcp_getpeername(&tcp, reinterpret_cast<sockaddr*>(&storage), &len) != 0) return "unknown";
    return format_address(reinterpret_cast<const sockaddr*>(&storage));
}

}  // namespace ocspgate::proxy
