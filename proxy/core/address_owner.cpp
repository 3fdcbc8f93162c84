#include "proxy/core/address_owner.h"

#include <dirent.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "proxy/core/socket_address.h"

namespace ocspgate::proxy {
namespace {

// Bounds on the owner search, which runs on the main thread only when start-up or a reload is
// about to fail anyway: a machine with more processes or descriptors gets no name.
constexpr int kMaxProcessesScanned = 4096;
constexpr int kMaxDescriptorsScanned = 200000;
constexpr std::size_t kMaxInodes = 64;
constexpr std::string_view kListenState = "0A";  // TCP_LISTEN in /proc/net/tcp

// An address as /proc/net/tcp{,6} prints it: each 32-bit word of the network-order address
// with %08X, so on this host the word's value equals the raw word in memory.
struct ProcAddress {
    int family = AF_UNSPEC;
    std::uint32_t words[4] = {0, 0, 0, 0};
    unsigned port = 0;

    bool wildcard() const { return words[0] == 0 && words[1] == 0 && words[2] == 0 && words[3] == 0; }
};

ProcAddress from_sockaddr(const sockaddr_storage& address) {
    ProcAddress out;
    out.family = address.ss_family;
    if (address.ss_family == AF_INET) {
        const auto& in = reinterpret_cast<const sockaddr_in&>(address);
        std::memcpy(out.words, &in.sin_addr, 4);
        out.port = ntohs(in.sin_port);
    } else if (address.ss_family == AF_INET6) {
        const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
        std::memcpy(out.words, &in6.sin6_addr, 16);
        out.port = ntohs(in6.sin6_port);
    }
    return out;
}

// "0100007F:13C4" (tcp) or 32 hex digits and a port (tcp6).
bool parse_proc_address(const std::string& text, int family, ProcAddress& out) {
    std::size_t colon = text.find(':');
    std::size_t digits = family == AF_INET ? 8 : 32;
    if (colon != digits) return false;
    out.family = family;
    for (std::size_t i = 0; i < digits / 8; ++i)
        out.words[i] = static_cast<std::uint32_t>(std::stoul(text.substr(i * 8, 8), nullptr, 16));
    out.port = static_cast<unsigned>(std::stoul(text.substr(colon + 1), nullptr, 16));
    return true;
}

// Whether a socket listening at `held` takes connections meant for `wanted`.
bool overlaps(const ProcAddress& held, const ProcAddress& wanted) {
    if (held.port != wanted.port) return false;
    if (held.wildcard() || wanted.wildcard()) return true;
    return held.family == wanted.family && std::memcmp(held.words, wanted.words, sizeof held.words) == 0;
}

void collect_listening_inodes(const char* table, int family, const ProcAddress& wanted, std::set<std::string>& inodes) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line) && inodes.size() < kMaxInodes) {
        std::istringstream fields(line);
        std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
        if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode))
            continue;
        ProcAddress held;
        try {
            if (state != kListenState || !parse_proc_address(local, family, held)) continue;
        } catch (const std::exception&) {
            continue;  // a line of an unexpected shape names nobody
        }
        if (overlaps(held, wanted) && inode != "0") inodes.insert("socket:[" + inode + "]");
    }
}

std::string process_name(const std::string& pid) {
    std::ifstream in("/proc/" + pid + "/comm");
    std::string name;
    std::getline(in, name);
    return name.empty() ? std::string("pid ") + pid : fmt::format("pid {} ({})", pid, name);
}

// The first process whose descriptors include one of `inodes`.
std::string find_holder(const std::set<std::string>& inodes) {
    DIR* proc = opendir("/proc");
    if (proc == nullptr) return "";
    std::string found;
    int processes = 0, descriptors = 0;
    while (dirent* entry = readdir(proc)) {
        if (found.size() > 0 || ++processes > kMaxProcessesScanned || descriptors > kMaxDescriptorsScanned) break;
        std::string pid = entry->d_name;
        if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string fd_dir = "/proc/" + pid + "/fd";
        DIR* fds = opendir(fd_dir.c_str());
        if (fds == nullptr) continue;  // another user's process, or gone
        while (dirent* fd = readdir(fds)) {
            if (++descriptors > kMaxDescriptorsScanned) break;
            char target[64];
            ssize_t n = readlink((fd_dir + "/" + fd->d_name).c_str(), target, sizeof target - 1);
            if (n <= 0) continue;
            target[n] = '\0';
            if (inodes.count(target) > 0) {
                found = process_name(pid);
                break;
            }
        }
        closedir(fds);
    }
    closedir(proc);
    return found;
}

}  // namespace

std::string find_listening_process(const sockaddr_storage& address) {
    ProcAddress wanted = from_sockaddr(address);
    if (wanted.family == AF_UNSPEC) return "";
    std::set<std::string> inodes;
    collect_listening_inodes("/proc/net/tcp", AF_INET, wanted, inodes);
    collect_listening_inodes("/proc/net/tcp6", AF_INET6, wanted, inodes);
    return inodes.empty() ? "" : find_holder(inodes);
}

Result<Ok> check_address_unowned(const conf::Listener& l) {
    int fd = socket(l.listen.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return make_error(Errc::io, fmt::format("listener {}: socket for {}: {}", l.name, l.listen.text, strerror(errno)));
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (l.listen.storage.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    int rc = bind(fd, reinterpret_cast<const sockaddr*>(&l.listen.storage), l.listen.length);
    int err = errno;
    ::close(fd);
    if (rc == 0) return Ok{};
    if (err != EADDRINUSE)
        return make_error(Errc::io, fmt::format("listener {}: cannot bind {}: {}", l.name, l.listen.text, strerror(err)));
    std::string owner = find_listening_process(l.listen.storage);
    return make_error(Errc::io, fmt::format("listener {}: {} is already in use by another process{}; stop it, or set "
                                            "[server] share_listen_ports = true in both to share the address on purpose",
                                            l.name, l.listen.text, owner.empty() ? "" : " (" + owner + ")"));
}

}  // namespace ocspgate::proxy
