#include "proxy/core/worker.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <unistd.h>

#include "proxy/core/connection.h"
#include "proxy/log/log.h"

namespace ocspgate::proxy {
namespace {

void close_sockets(const ListenerSockets& sockets) {
    for (const auto& [key, fd] : sockets) ::close(fd);
}

}  // namespace

Worker::Worker(unsigned id, Shared& shared, std::shared_ptr<const Runtime> runtime)
    : id_(id),
      shared_(shared),
      runtime_(std::move(runtime)),
      read_buffer_(std::make_unique<std::array<char, kReadBufferSize>>()) {
    uv_loop_init(&loop_);
    uv_async_init(&loop_, &drain_request_, on_drain_request);
    drain_request_.data = this;
    uv_async_init(&loop_, &update_request_, on_update);
    update_request_.data = this;
    uv_timer_init(&loop_, &drain_timer_);
    drain_timer_.data = this;
    mailbox_ = std::make_unique<ocsp::Mailbox>(&loop_);
}

Worker::~Worker() {
    join();
    // Only reached after run() returned, or when start() was never called (start-up failed).
    if (!finished_) {
        for (auto& listener : listeners_) Listener::close(std::move(listener));
        listeners_.clear();
        finished_ = true;
        uv_close(reinterpret_cast<uv_handle_t*>(&drain_request_), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&update_request_), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&drain_timer_), nullptr);
        mailbox_->close();
        uv_run(&loop_, UV_RUN_DEFAULT);
    }
    for (const auto& update : updates_) close_sockets(update.new_sockets);  // arrived too late
    uv_loop_close(&loop_);
}

Result<Ok> Worker::open_listeners(ListenerSockets sockets) {
    for (auto it = sockets.begin(); it != sockets.end(); it = sockets.erase(it)) {
        auto listener = Listener::open(*this, runtime_->listener_at(it->first), it->second);
        if (!listener) {
            close_sockets(ListenerSockets(std::next(it), sockets.end()));
            return std::move(listener).error();
        }
        listeners_.push_back(std::move(listener).value());
    }
    return Ok{};
}

void Worker::update(RuntimeUpdate update) {
    {
        std::lock_guard lock(updates_mutex_);
        updates_.push_back(std::move(update));
    }
    uv_async_send(&update_request_);
}

void Worker::on_update(uv_async_t* handle) noexcept {
    auto* self = static_cast<Worker*>(handle->data);
    std::vector<RuntimeUpdate> updates;
    {
        std::lock_guard lock(self->updates_mutex_);
        updates.swap(self->updates_);
    }
    for (auto& update : updates) self->apply(std::move(update));
}

// Listeners are matched by address: one that stays keeps its socket and takes the new
// settings, so no connection attempt is refused during a reload.
void Worker::apply(RuntimeUpdate update) {
    apply_listeners(update);
    if (!draining_) runtime_ = std::move(update.runtime);
    if (update.applied) update.applied();
}

void Worker::apply_listeners(RuntimeUpdate& update) {
    if (draining_) return close_sockets(update.new_sockets);
    std::vector<std::unique_ptr<Listener>> kept;
    for (auto& listener : listeners_) {
        if (auto settings = update.runtime->listener_at(listener_key(listener->settings().conf))) {
            listener->set_settings(std::move(settings));
            kept.push_back(std::move(listener));
        } else {
            Listener::close(std::move(listener));
        }
    }
    listeners_ = std::move(kept);
    for (auto& [key, fd] : update.new_sockets) {
        auto listener = Listener::open(*this, update.runtime->listener_at(key), fd);
        if (!listener) {
            log::Record("reload_error").field("worker", id_).field("error", listener.error().message)
                .emit(conf::LogLevel::error);
            continue;
        }
        listeners_.push_back(std::move(listener).value());
    }
}

void Worker::start() {
    thread_ = std::thread([this] { run(); });
}

void Worker::run() noexcept {
    // "ocspgate-w0", ...: what top -H, perf and taskset -p find a worker's loop by (perf/crl_swap
    // pins it). Fifteen characters at most; beyond, the name is left as it was.
    const auto name = "ocspgate-w" + std::to_string(id_);
    ::pthread_setname_np(::pthread_self(), name.c_str());
    uv_run(&loop_, UV_RUN_DEFAULT);
    OPENSSL_thread_stop();  // releases this thread's ASYNC job pool and error queue
    if (on_finished_) on_finished_();
}

void Worker::request_drain() { uv_async_send(&drain_request_); }

void Worker::request_stop_now() {
    stop_now_ = true;
    uv_async_send(&drain_request_);
}

void Worker::join() {
    if (thread_.joinable()) thread_.join();
}

void Worker::on_drain_request(uv_async_t* handle) noexcept { static_cast<Worker*>(handle->data)->begin_drain(); }

void Worker::begin_drain() {
    if (draining_) {
        if (stop_now_) on_drain_deadline(&drain_timer_);
        return;
    }
    draining_ = true;
    for (auto& listener : listeners_) Listener::close(std::move(listener));
    listeners_.clear();
    if (connections_.empty()) return finish_if_drained();
    log::Record("drain").field("worker", id_).field("open_connections", static_cast<std::uint64_t>(connections_.size()))
        .emit(conf::LogLevel::info);
    std::uint64_t deadline = stop_now_ ? 0 : static_cast<std::uint64_t>(server_settings().drain_timeout.count());
    uv_timer_start(&drain_timer_, on_drain_deadline, deadline, 0);
}

void Worker::on_drain_deadline(uv_timer_t* handle) noexcept {
    auto* self = static_cast<Worker*>(handle->data);
    // abort() never frees synchronously (frees come from close callbacks), so iterating is safe.
    const char* reason = self->stop_now_ ? "shutdown: immediate" : "shutdown: drain deadline";
    for (auto& connection : self->connections_) connection->abort(reason);
}

void Worker::finish_if_drained() {
    if (finished_ || !draining_ || !connections_.empty()) return;
    finished_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&drain_request_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&update_request_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&drain_timer_), nullptr);
    mailbox_->close();  // results still in flight for this loop are dropped from now on
}

void Worker::accept(uv_stream_t* server, std::shared_ptr<const ListenerSettings> settings) {
    settings->counters.opened.fetch_add(1, std::memory_order_relaxed);
    connections_.push_back(std::make_unique<Connection>(*this, std::move(settings),
                                                        shared_.next_connection_id.fetch_add(1, std::memory_order_relaxed)));
    Connection& connection = *connections_.back();
    connection.position = std::prev(connections_.end());
    std::uint32_t active = ++shared_.active_connections;
    connection.start(server);
    if (active > server_settings().max_connections) connection.abort("max_connections reached");
}

void Worker::release(Connection* connection) {
    connections_.erase(connection->position);
    --shared_.active_connections;
    finish_if_drained();
}

uv_buf_t Worker::read_buffer() { return uv_buf_init(read_buffer_->data(), kReadBufferSize); }

}  // namespace ocspgate::proxy
