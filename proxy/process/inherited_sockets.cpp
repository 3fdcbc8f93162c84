#include "proxy/process/inherited_sockets.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "proxy/core/socket_address.h"
#include "proxy/log/log.h"

namespace ocspgate::proxy::process {
namespace {

constexpr int kFirstListenFd = 3;  // SD_LISTEN_FDS_START
constexpr unsigned kMaxListenFds = 4096;

bool parse_unsigned(const char* text, unsigned long& out) {
    if (!text || !*text) return false;
    std::string_view s(text);
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

std::vector<std::string> split_names(const char* names) {
    std::vector<std::string> out;
    if (!names) return out;
    std::string_view rest(names);
    while (true) {
        auto colon = rest.find(':');
        out.emplace_back(rest.substr(0, colon));
        if (colon == std::string_view::npos) break;
        rest.remove_prefix(colon + 1);
    }
    return out;
}

void unset_listen_variables() {
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
}

// The address `fd` listens on, or "" when it is not a listening stream socket.
std::string listening_address(int fd) {
    int type = 0, listening = 0;
    socklen_t length = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0 || type != SOCK_STREAM) return "";
    length = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || !listening) return "";
    sockaddr_storage storage{};
    length = sizeof storage;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return "";
    if (storage.ss_family != AF_INET && storage.ss_family != AF_INET6) return "";
    return format_address(reinterpret_cast<const sockaddr*>(&storage));
}

}  // namespace

InheritedSockets InheritedSockets::from_environment() {
    InheritedSockets out;
    unsigned long pid = 0, count = 0;
    bool for_us = parse_unsigned(getenv("LISTEN_PID"), pid) && pid == static_cast<unsigned long>(getpid()) &&
                  parse_unsigned(getenv("LISTEN_FDS"), count) && count > 0;
    std::vector<std::string> names = split_names(getenv("LISTEN_FDNAMES"));
    unset_listen_variables();
    if (!for_us) return out;
    if (count > kMaxListenFds) count = kMaxListenFds;
    for (unsigned i = 0; i < count; ++i) {
        int fd = kFirstListenFd + static_cast<int>(i);
        // Ours now: not for whatever this process starts (an upgrade passes them explicitly).
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) continue;  // not open
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        std::string name = i < names.size() ? names[i] : "";
        std::string address = listening_address(fd);
        if (address.empty()) {
            log::Record("inherited_socket_refused").field("fd", static_cast<std::uint64_t>(fd)).field("name", name)
                .field("text", "not a listening TCP socket; closed").emit(conf::LogLevel::warn);
            ::close(fd);
            continue;
        }
        out.sockets_.push_back({fd, std::move(address), std::move(name)});
    }
    return out;
}

InheritedSockets::~InheritedSockets() {
    for (const auto& socket : sockets_) ::close(socket.fd);
}

std::vector<int> InheritedSockets::take_address(const std::string& address) {
    std::vector<int> fds;
    std::erase_if(sockets_, [&](const InheritedSocket& socket) {
        if (socket.address != address || socket.name == "admin") return false;
        fds.push_back(socket.fd);
        return true;
    });
    return fds;
}

int InheritedSockets::take_named(const std::string& name) {
    for (auto it = sockets_.begin(); it != sockets_.end(); ++it) {
        if (it->name != name) continue;
        int fd = it->fd;
        sockets_.erase(it);
        return fd;
    }
    return -1;
}

void InheritedSockets::close_unused() {
    for (const auto& socket : sockets_) {
        log::Record("inherited_socket_unused").field("address", socket.address).field("name", socket.name)
            .field("text", "no listener has this address; closed").emit(conf::LogLevel::warn);
        ::close(socket.fd);
    }
    sockets_.clear();
}

}  // namespace ocspgate::proxy::process
