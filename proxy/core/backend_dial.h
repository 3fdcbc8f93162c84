// The connect step of a connection toward its listener's backend: the backend's addresses
// (BackendAddresses; a host name is resolved first when no addresses are known), then a
// StaggeredConnect over them. Destroying the object cancels everything it started.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "proxy/core/backend_addresses.h"
#include "proxy/core/staggered_connect.h"
#include "base/result.h"

namespace ocspgate::proxy {

class BackendDial {
public:
    // The connected socket (now the caller's), or why the backend cannot be reached, worded to
    // follow "backend unreachable: ".
    using Done = std::function<void(Result<uv_os_sock_t>)>;

    // `done` runs once, from a libuv callback, never from start(); it may destroy this object
    // (nothing here touches it after `done` returns).
    // `home`: the connection's loop's Mailbox, through which a wait for another connection's
    // resolution ends.
    static std::unique_ptr<BackendDial> start(ocsp::Mailbox& home, std::shared_ptr<BackendAddresses> addresses, Done done);

private:
    BackendDial(ocsp::Mailbox& home, std::shared_ptr<BackendAddresses> addresses, Done done);
    void begin();
    void on_woken(const std::string& error);
    void on_resolved(Result<AddressList> resolved);
    void on_connected(Result<uv_os_sock_t> socket);
    void report(Result<uv_os_sock_t> result);  // the caller's last use of `this`

    ocsp::Mailbox& home_;
    uv_loop_t* loop_;
    std::shared_ptr<BackendAddresses> addresses_;
    Done done_;
    std::shared_ptr<BackendAddresses::Wake> wake_;  // held weakly by BackendAddresses
    std::unique_ptr<BackendAddresses::WaitToken> wait_;  // while another connection resolves
    std::unique_ptr<BackendResolution> resolution_;  // the one this connection waits for
    std::unique_ptr<StaggeredConnect> connect_;
    std::string start_error_;  // a resolution that could not even start: reported via connect_
};

}  // namespace ocspgate::proxy
