// Listening sockets handed to this process instead of bound by it: by systemd socket
// activation, or by the ocspgate it replaces in a binary upgrade (upgrade.h). Both speak the
// sd_listen_fds(3) protocol, implemented here without libsystemd:
//
//   LISTEN_PID=<this pid> LISTEN_FDS=<n> [LISTEN_FDNAMES=a:b:...]   fds 3 .. 3+n-1
//
// Only a process whose pid is LISTEN_PID takes them (the variables are meant for one process,
// not its children); the variables are removed from the environment either way, so nothing
// ocspgate starts later inherits them. A descriptor is adopted by the listener whose address
// equals the socket's (getsockname, compared as listener_key() does), and by the admin
// endpoint when it is named "admin"; one nobody takes is closed with a warning.
//
// Why adopting beats binding: the socket, and the connections waiting in its accept queue,
// belong to whoever else holds it too (systemd, the old process), so a restart or an upgrade
// never has a moment in which the address refuses connections.
#pragma once

#include <sys/socket.h>

#include <map>
#include <utility>
#include <string>
#include <vector>

namespace ocspgate::proxy::process {

struct InheritedSocket {
    int fd = -1;
    std::string address;  // format_address() of getsockname(): a listener_key()
    std::string name;     // from LISTEN_FDNAMES; "" when not given
};

class InheritedSockets {
public:
    // Reads (and removes) the LISTEN_* variables. Descriptors that are not listening stream
    // sockets are closed and logged. Call once, on the main thread, before anything opens a
    // descriptor of its own (the numbers from 3 on must still be the inherited ones).
    static InheritedSockets from_environment();

    InheritedSockets() = default;
    ~InheritedSockets();
    InheritedSockets(InheritedSockets&& other) noexcept : sockets_(std::move(other.sockets_)) { other.sockets_.clear(); }
    InheritedSockets& operator=(InheritedSockets&& other) noexcept {
        std::swap(sockets_, other.sockets_);
        return *this;
    }
    InheritedSockets(const InheritedSockets&) = delete;
    InheritedSockets& operator=(const InheritedSockets&) = delete;

    bool empty() const { return sockets_.empty(); }
    std::size_t size() const { return sockets_.size(); }
    // Every socket listening on `address` (a listener_key()), in the order they came; the
    // caller owns them from now on.
    std::vector<int> take_address(const std::string& address);
    // The socket named `name` (LISTEN_FDNAMES), or -1; the caller owns it.
    int take_named(const std::string& name);
    // Closes what nobody took, logging each (warning): a socket activation unit or an old
    // configuration with an address this configuration no longer listens on.
    void close_unused();

private:
    std::vector<InheritedSocket> sockets_;
};

}  // namespace ocspgate::proxy::process
