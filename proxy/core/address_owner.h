// One owner per listening address: whether another process already listens where a listener
// wants to, and who that is.
//
// Workers bind their sockets with SO_REUSEPORT, which lets any process of the same user join
// the address and silently take a share of the clients. So before those sockets are bound, a
// probe socket is bound to the address without SO_REUSEPORT (but with SO_REUSEADDR, so a
// previous instance's TIME_WAIT connections do not count): Linux refuses it with EADDRINUSE
// exactly when a socket listens there (ours never do: the probe is closed before they are
// bound), and a later instance's probe is refused by our listening SO_REUSEPORT sockets.
//
// The race window: between the probe's bind and the first listen() of our own sockets (a few
// system calls on the main thread, see bind_listener_socket) a second instance's probe also
// succeeds, because neither address is listening yet; two instances started within those
// microseconds may still share. Anything started later is refused.
#pragma once

#include <sys/socket.h>

#include <string>

#include "conf/config.h"
#include "base/result.h"

namespace ocspgate::proxy {

// Ok when nothing listens on `listener`'s address; otherwise an Errc::io error naming the
// listener, the address and, when it can be found cheaply, the owning process.
Result<Ok> check_address_unowned(const conf::Listener& listener);

// "pid 1234 (ocspgate)" for the process that listens on `address` (a wildcard listener on the
// same port counts), or "" when it cannot be found: best effort and bounded, from
// /proc/net/tcp{,6} (socket inodes in LISTEN state) and /proc/*/fd (which process holds one;
// only processes this user may inspect).
std::string find_listening_process(const sockaddr_storage& address);

}  // namespace ocspgate::proxy
