#include "proxy/core/backend_dial.h"

#include <string>
#include <utility>

namespace ocspgate::proxy {

BackendDial::BackendDial(ocsp::Mailbox& home, std::shared_ptr<BackendAddresses> addresses, Done done)
    : home_(home), loop_(home.loop()), addresses_(std::move(addresses)), done_(std::move(done)),
      wake_(std::make_shared<BackendAddresses::Wake>([this](const std::string& error) { on_woken(error); })) {}

std::unique_ptr<BackendDial> BackendDial::start(ocsp::Mailbox& home, std::shared_ptr<BackendAddresses> addresses, Done done) {
    std::unique_ptr<BackendDial> self(new BackendDial(home, std::move(addresses), std::move(done)));
    self->begin();
    return self;
}

void BackendDial::begin() {
    BackendAddresses::Snapshot known = addresses_->current(home_, wake_);
    if (known.refresh) {
        // Stale addresses are still used now; the new ones serve later connections.
        BackendResolution::refresh(home_, addresses_);
    }
    if (!known.addresses.empty()) {
        connect_ = StaggeredConnect::start(loop_, std::move(known.addresses),
                                           [this](Result<uv_os_sock_t> s) { on_connected(std::move(s)); });
        return;
    }
    if (known.wait) {
        wait_ = std::move(known.wait);  // another connection resolves; on_woken follows
        return;
    }
    auto resolution = BackendResolution::start(loop_, addresses_, true,
                                               [this](Result<AddressList> r) { on_resolved(std::move(r)); });
    if (resolution) {
        resolution_ = std::move(resolution).value();
        return;
    }
    start_error_ = resolution.error().message;
    connect_ = StaggeredConnect::start(loop_, {}, [this](Result<uv_os_sock_t> s) { on_connected(std::move(s)); });
}

void BackendDial::on_woken(const std::string& error) {
    wait_.reset();
    if (!error.empty()) return report(make_error(Errc::unavailable, error));
    begin();  // addresses now, or this connection resolves in turn
}

void BackendDial::on_resolved(Result<AddressList> resolved) {
    if (!resolved) return report(std::move(resolved).error());
    connect_ = StaggeredConnect::start(loop_, std::move(resolved).value(),
                                       [this](Result<uv_os_sock_t> s) { on_connected(std::move(s)); });
}

void BackendDial::on_connected(Result<uv_os_sock_t> socket) {
    if (socket) return report(std::move(socket));
    if (!start_error_.empty()) return report(make_error(Errc::unavailable, start_error_));
    if (!addresses_->is_name()) return report(std::move(socket));  // the libuv error name, as ever
    // Every address failed: the name may point elsewhere now, so the next connection resolves.
    addresses_->forget();
    report(make_error(Errc::unavailable, addresses_->backend().text + " (" + socket.error().message + ")"));
}

void BackendDial::report(Result<uv_os_sock_t> result) {
    Done done = std::move(done_);
    done(std::move(result));  // may destroy this object
}

}  // namespace ocspgate::proxy
