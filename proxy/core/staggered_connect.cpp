#include "proxy/core/staggered_connect.h"

#include <fcntl.h>

#include <cerrno>
#include <utility>

#include "proxy/core/socket_address.h"

namespace ocspgate::proxy {

// Both live on the heap and free themselves in their close callback (libuv may call back
// until then); `owner` is null once the StaggeredConnect let go of them.
struct StaggeredConnect::Attempt {
    uv_tcp_t tcp{};
    uv_connect_t req{};
    StaggeredConnect* owner = nullptr;
    sockaddr_storage address{};
};

struct StaggeredConnect::Timer {
    uv_timer_t timer{};
    StaggeredConnect* owner = nullptr;
};

namespace {

template <class Holder>
void close_and_free(Holder* holder, uv_handle_t* handle) {
    handle->data = holder;
    uv_close(handle, [](uv_handle_t* h) { delete static_cast<Holder*>(h->data); });
}

}  // namespace

void StaggeredConnect::on_connect(uv_connect_t* req, int status) noexcept {
    auto* attempt = static_cast<Attempt*>(req->data);
    // A closed attempt is called back with UV_ECANCELED before its close callback frees it.
    if (attempt->owner != nullptr) attempt->owner->on_attempt_done(attempt, status);
}

void StaggeredConnect::on_timer_fired(uv_timer_t* handle) noexcept {
    auto* timer = static_cast<Timer*>(handle->data);
    if (timer->owner != nullptr) timer->owner->on_timer();
}

AddressList interleave_families(const AddressList& addresses) {
    if (addresses.empty()) return {};
    AddressList first, second;
    const sa_family_t preferred = addresses.front().ss_family;
    for (const auto& a : addresses) (a.ss_family == preferred ? first : second).push_back(a);
    AddressList out;
    for (std::size_t i = 0; i < first.size() || i < second.size(); ++i) {
        if (i < first.size()) out.push_back(first[i]);
        if (i < second.size()) out.push_back(second[i]);
    }
    return out;
}

StaggeredConnect::StaggeredConnect(uv_loop_t* loop, AddressList addresses, Done done)
    : loop_(loop), addresses_(interleave_families(addresses)), done_(std::move(done)) {}

std::unique_ptr<StaggeredConnect> StaggeredConnect::start(uv_loop_t* loop, AddressList addresses, Done done) {
    std::unique_ptr<StaggeredConnect> self(new StaggeredConnect(loop, std::move(addresses), std::move(done)));
    self->timer_ = new Timer;
    self->timer_->owner = self.get();
    uv_timer_init(loop, &self->timer_->timer);
    self->timer_->timer.data = self->timer_;
    self->start_next();
    return self;
}

StaggeredConnect::~StaggeredConnect() {
    for (Attempt* attempt : pending_) close_attempt(attempt);
    timer_->owner = nullptr;
    close_and_free(timer_, reinterpret_cast<uv_handle_t*>(&timer_->timer));
}

void StaggeredConnect::start_next() {
    while (next_ < addresses_.size()) {
        auto* attempt = new Attempt;
        attempt->owner = this;
        attempt->address = addresses_[next_++];
        uv_tcp_init(loop_, &attempt->tcp);
        attempt->tcp.data = attempt;
        attempt->req.data = attempt;
        const auto* addr = reinterpret_cast<const sockaddr*>(&attempt->address);
        if (int rc = uv_tcp_connect(&attempt->req, &attempt->tcp, addr, on_connect); rc != 0) {
            note_failure(attempt->address, rc);  // e.g. ENETUNREACH for a family without a route
            close_attempt(attempt);
            continue;
        }
        pending_.push_back(attempt);
        uv_timer_start(&timer_->timer, on_timer_fired, static_cast<std::uint64_t>(kAttemptDelay.count()), 0);
        return;
    }
    // Nothing left to start. With nothing pending either, report from a callback (never from
    // start(), whose caller does not hold the object yet).
    if (pending_.empty()) {
        uv_timer_start(&timer_->timer, on_timer_fired, 0, 0);
    }
}

void StaggeredConnect::on_timer() {
    if (next_ < addresses_.size()) return start_next();
    if (!pending_.empty()) return;
    if (addresses_.empty()) return finish(make_error(Errc::unavailable, "no address to connect to"));
    finish(make_error(Errc::unavailable, addresses_.size() == 1 ? std::string(uv_err_name(last_status_)) : failures_));
}

void StaggeredConnect::on_attempt_done(Attempt* attempt, int status) {
    pending_.remove(attempt);
    if (status == 0) {
        uv_os_fd_t fd = -1;
        uv_fileno(reinterpret_cast<uv_handle_t*>(&attempt->tcp), &fd);
        // Our own copy of the socket: closing the attempt's handle closes only its descriptor.
        int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (copy >= 0) {
            close_attempt(attempt);
            return finish(static_cast<uv_os_sock_t>(copy));
        }
        status = uv_translate_sys_error(errno);
    }
    note_failure(attempt->address, status);
    close_attempt(attempt);
    start_next();  // at once: a refused address need not wait out the delay (RFC 8305)
}

void StaggeredConnect::note_failure(const sockaddr_storage& address, int status) {
    last_status_ = status;
    if (!failures_.empty()) failures_ += ", ";
    failures_ += format_address(reinterpret_cast<const sockaddr*>(&address)) + " " + uv_err_name(status);
}

void StaggeredConnect::close_attempt(Attempt* attempt) {
    attempt->owner = nullptr;
    close_and_free(attempt, reinterpret_cast<uv_handle_t*>(&attempt->tcp));
}

void StaggeredConnect::finish(Result<uv_os_sock_t> result) {
    for (Attempt* attempt : pending_) close_attempt(attempt);
    pending_.clear();
    uv_timer_stop(&timer_->timer);
    Done done = std::move(done_);
    done(std::move(result));  // may destroy this object
}

}  // namespace ocspgate::proxy
