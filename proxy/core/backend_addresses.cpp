#include "proxy/core/backend_addresses.h"

#include <netdb.h>

#include <cstring>
#include <string>
#include <utility>

#include "proxy/core/socket_address.h"
#include "proxy/log/log.h"

namespace ocspgate::proxy {

BackendAddresses::BackendAddresses(std::string listener, conf::Address backend, conf::Duration refresh_interval)
    : listener_(std::move(listener)), backend_(std::move(backend)), refresh_interval_(refresh_interval) {
    if (is_name()) return;
    addresses_.push_back(backend_.storage);
}

BackendAddresses::Snapshot BackendAddresses::current(ocsp::Mailbox& home, const std::shared_ptr<Wake>& wake) {
    std::lock_guard lock(mutex_);
    Snapshot snapshot;
    snapshot.addresses = addresses_;
    if (!is_name()) return snapshot;
    if (!addresses_.empty()) {
        bool stale = Clock::now() - resolved_at_ >= refresh_interval_;
        snapshot.refresh = stale && !refreshing_;
        refreshing_ = refreshing_ || snapshot.refresh;
        return snapshot;
    }
    if (!resolving_) {
        resolving_ = snapshot.resolve = true;
        return snapshot;
    }
    std::uint64_t id = next_waiter_++;
    waiters_.emplace(id, Waiter{&home, wake});
    snapshot.wait = std::make_unique<WaitToken>(shared_from_this(), id);
    return snapshot;
}

BackendAddresses::WaitToken::~WaitToken() {
    std::lock_guard lock(owner_->mutex_);
    owner_->waiters_.erase(id_);
}

void BackendAddresses::wake_waiters(const std::string& error) {
    for (auto& [id, waiter] : waiters_) {
        waiter.home->post([wake = waiter.wake, error] {
            if (auto alive = wake.lock()) (*alive)(error);  // on the waiter's own loop
        });
    }
    waiters_.clear();
}

void BackendAddresses::release(bool waited) {
    std::lock_guard lock(mutex_);
    (waited ? resolving_ : refreshing_) = false;
    if (waited) wake_waiters("");  // one of them resolves instead
}

void BackendAddresses::store(Result<AddressList> resolved, bool waited) {
    std::lock_guard lock(mutex_);
    (waited ? resolving_ : refreshing_) = false;
    if (!resolved) {
        // Logged at every failed resolution: with known addresses that is once per interval.
        log::Record("backend_resolve_failed")
            .field("listener", listener_)
            .field("backend", backend_.text)
            .field("error", resolved.error().message)
            .field("kept_addresses", addresses_.empty() ? std::string("none") : describe(addresses_))
            .emit(conf::LogLevel::warn);
        // Known addresses stay in use; the name is tried again an interval later, not at
        // every connection while the resolver is down.
        if (!addresses_.empty()) resolved_at_ = Clock::now();
        // Those waiting get this error rather than each trying again (DNS down would
        // otherwise cost a lookup per handshake); a failed refresh leaves them waiting.
        if (waited) wake_waiters(resolved.error().message);
        return;
    }
    std::string now = describe(*resolved);
    if (now != describe(addresses_)) {  // once per change, not once per interval
        log::Record("backend_resolved")
            .field("listener", listener_)
            .field("backend", backend_.text)
            .field("addresses", now)
            .emit(conf::LogLevel::info);
    }
    addresses_ = std::move(resolved).value();
    resolved_at_ = Clock::now();
    wake_waiters("");
}

void BackendAddresses::forget() {
    if (!is_name()) return;
    std::lock_guard lock(mutex_);
    addresses_.clear();
}

// ---- one resolution ----------------------------------------------------------------------

struct BackendResolution::Pending {
    uv_getaddrinfo_t req{};
    std::shared_ptr<BackendAddresses> addresses;
    Done done;                             // cleared by ~BackendResolution
    bool waited = false;
    BackendResolution* handle = nullptr;   // unlinked by either side when it ends
    ocsp::Mailbox* home = nullptr;         // a refresh: cancelled by its loop's close hook
    std::uint64_t close_hook = 0;

    static void on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* found) noexcept;
};

namespace {

Result<AddressList> collect(const BackendAddresses& backend, int status, const addrinfo* found) {
    const std::string& name = backend.backend().host;
    if (status < 0) {
        return make_error(Errc::io, "cannot resolve \"" + name + "\": " + uv_err_name(status) + " (" +
                                        uv_strerror(status) + ")");
    }
    AddressList list;
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
        if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
        sockaddr_storage storage{};
        std::memcpy(&storage, a->ai_addr, a->ai_addrlen);
        list.push_back(storage);
    }
    if (list.empty()) return make_error(Errc::io, "cannot resolve \"" + name + "\": no IPv4 or IPv6 address");
    return list;
}

}  // namespace

void BackendResolution::Pending::on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* found) noexcept {
    std::unique_ptr<Pending> self(static_cast<Pending*>(req->data));
    if (self->handle != nullptr) self->handle->pending_ = nullptr;  // freed below
    if (self->home != nullptr) self->home->remove_close_hook(self->close_hook);
    Result<AddressList> list = collect(*self->addresses, status, found);
    uv_freeaddrinfo(found);
    if (status == UV_EAI_CANCELED) self->addresses->release(self->waited);
    else self->addresses->store(list, self->waited);
    if (self->done) self->done(std::move(list));
}

namespace {

// Starts one lookup; on success the Pending owns itself until libuv calls back. A request
// libuv refuses is stored (and logged) as that resolution's outcome.
Result<BackendResolution::Pending*> launch(uv_loop_t* loop, std::shared_ptr<BackendAddresses> addresses, bool waited,
                                           BackendResolution::Done done) {
    auto pending = std::make_unique<BackendResolution::Pending>();
    pending->req.data = pending.get();
    pending->addresses = std::move(addresses);
    pending->done = std::move(done);
    pending->waited = waited;
    const conf::Address& backend = pending->addresses->backend();
    std::string service = std::to_string(backend.port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;  // both families: the staggered connect tries each
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (int rc = uv_getaddrinfo(loop, &pending->req, BackendResolution::Pending::on_resolved, backend.host.c_str(),
                                service.c_str(), &hints);
        rc != 0) {
        auto error = collect(*pending->addresses, rc, nullptr);
        pending->addresses->store(error, waited);
        return std::move(error).error();
    }
    return pending.release();
}

}  // namespace

Result<std::unique_ptr<BackendResolution>> BackendResolution::start(uv_loop_t* loop,
                                                                    std::shared_ptr<BackendAddresses> addresses,
                                                                    bool waited, Done done) {
    auto pending = launch(loop, std::move(addresses), waited, std::move(done));
    if (!pending) return std::move(pending).error();
    std::unique_ptr<BackendResolution> handle(new BackendResolution(*pending));
    (*pending)->handle = handle.get();
    return handle;
}

void BackendResolution::refresh(ocsp::Mailbox& home, std::shared_ptr<BackendAddresses> addresses) {
    if (home.closed()) return addresses->release(false);  // shutting down: nobody needs it
    auto pending = launch(home.loop(), std::move(addresses), false, nullptr);
    if (!pending) return;
    Pending* request = *pending;
    request->home = &home;
    request->close_hook = home.add_close_hook([request] {
        request->home = nullptr;  // the hook is gone already
        uv_cancel(reinterpret_cast<uv_req_t*>(&request->req));
    });
}

BackendResolution::~BackendResolution() {
    if (pending_ == nullptr) return;  // finished: Pending is gone
    // libuv still calls back after a cancel (with UV_EAI_CANCELED), or after the lookup that
    // could no longer be cancelled; Pending frees itself then.
    pending_->handle = nullptr;
    pending_->done = nullptr;
    uv_cancel(reinterpret_cast<uv_req_t*>(&pending_->req));
}

std::string describe(const AddressList& addresses) {
    std::string text;
    for (const auto& a : addresses) {
        if (!text.empty()) text += ", ";
        text += format_address(reinterpret_cast<const sockaddr*>(&a));
    }
    return text;
}

}  // namespace ocspgate::proxy
