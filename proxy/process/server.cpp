#include "proxy/process/server.h"

#include <algorithm>
#include <csignal>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include "proxy/admin/pages.h"
#include "proxy/metrics/text.h"
#include "proxy/process/reload.h"
#include "proxy/process/reload_changes.h"
#include "proxy/log/log.h"
#include "proxy/process/privileges.h"
#include "proxy/core/address_owner.h"
#include "proxy/core/socket_address.h"

namespace ocspgate::proxy::process {
namespace {

// How often the main thread looks for changed local files (CRL files).
constexpr std::uint64_t kHousekeepingIntervalMs = 5000;

unsigned worker_count(unsigned configured) {
    if (configured != 0) return configured;
    unsigned cores = std::thread::hardware_concurrency();
    return cores == 0 ? 1 : cores;
}

void close_sockets(const std::vector<ListenerSockets>& per_worker) {
    for (const auto& sockets : per_worker)
        for (const auto& [key, fd] : sockets) ::close(fd);
}

// Settings a running process cannot change: reported on reload, the old values stay.
std::vector<std::string> needs_restart(const conf::Config& running, const conf::Config& next) {
    std::vector<std::string> keys;
    if (running.server.workers != next.server.workers) keys.emplace_back("server.workers");
    if (running.server.log_format != next.server.log_format) keys.emplace_back("server.log_format");
    if (running.server.log_level != next.server.log_level) keys.emplace_back("server.log_level");
    if (running.server.user != next.server.user) keys.emplace_back("server.user");
    if (running.server.group != next.server.group) keys.emplace_back("server.group");
    if (running.admin.enabled != next.admin.enabled || running.admin.listen.text != next.admin.listen.text ||
        running.admin.max_request_size != next.admin.max_request_size)
        keys.emplace_back("admin");
    if (running.expiry.enabled != next.expiry.enabled ||
        running.expiry.include_peer_certificates != next.expiry.include_peer_certificates ||
        running.expiry.max_peer_certificates != next.expiry.max_peer_certificates)
        keys.emplace_back("expiry.enabled/include_peer_certificates/max_peer_certificates");
    if (!(running.cache.shared == next.cache.shared)) keys.emplace_back("cache.shared");
    return keys;
}

// Whether `wanted` shares a port with a listener this process already has (`ours`), one of
// them on the wildcard address: the probe would then find our own socket. (Listeners on
// 0.0.0.0:P and 127.0.0.1:P, or a reload moving one between them; with several workers the
// sockets join ours.)
bool overlaps_own_listener(const conf::Listener& wanted, const std::vector<const conf::Listener*>& ours) {
    auto port_and_wildcard = [](const sockaddr_storage& a) -> std::pair<int, bool> {
        if (a.ss_family == AF_INET) {
            const auto& in = reinterpret_cast<const sockaddr_in&>(a);
            return {ntohs(in.sin_port), in.sin_addr.s_addr == htonl(INADDR_ANY)};
        }
        const auto& in6 = reinterpret_cast<const sockaddr_in6&>(a);
        return {ntohs(in6.sin6_port), IN6_IS_ADDR_UNSPECIFIED(&in6.sin6_addr)};
    };
    auto [port, wildcard] = port_and_wildcard(wanted.listen.storage);
    for (const conf::Listener* own : ours) {
        const sockaddr_storage& held = own->listen.storage;
        auto [held_port, held_wildcard] = port_and_wildcard(held);
        if (held.ss_family == wanted.listen.storage.ss_family && held_port == port && (wildcard || held_wildcard))
            return true;
    }
    return false;
}

}  // namespace

Server::Server(std::shared_ptr<const Runtime> runtime) : runtime_(std::move(runtime)) {
    uv_loop_init(&loop_);
    uv_async_init(&loop_, &worker_finished_, on_worker_finished);
    worker_finished_.data = this;
    uv_async_init(&loop_, &reload_applied_, on_reload_applied);
    reload_applied_.data = this;
}

Server::~Server() {
    if (admin_) admin_->close();
    if (expiry_) expiry_->close();
    if (staples_) staples_->close();  // before the loop runs its last time: their handles close there
    for (auto& worker : workers_) worker->join();
    workers_.clear();
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&worker_finished_)))
        uv_close(reinterpret_cast<uv_handle_t*>(&worker_finished_), nullptr);
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&reload_applied_)))
        uv_close(reinterpret_cast<uv_handle_t*>(&reload_applied_), nullptr);
    // Start-up failed after the handlers were installed: run() never ran to close them.
    Upgrade::destroy(std::move(upgrade_));
    if (upgrade_ready_fd_ >= 0) ::close(upgrade_ready_fd_);  // start-up failed: the old process keeps serving
    for (uv_signal_t* handle : {&sigterm_, &sigint_, &sighup_, &sigusr2_})
        if (signals_installed_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(handle)))
            uv_close(reinterpret_cast<uv_handle_t*>(handle), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
}

Result<std::unique_ptr<Server>> Server::create(conf::Config config) {
    // First: the inherited descriptors must be claimed before anything could close them, and
    // the variables removed before anything could pass them on.
    InheritedSockets inherited = InheritedSockets::from_environment();
    int ready_fd = take_upgrade_ready_fd();
    auto runtime = build_runtime(std::move(config), nullptr);
    if (!runtime) {
        if (ready_fd >= 0) ::close(ready_fd);
        return std::move(runtime).error();
    }
    std::unique_ptr<Server> server(new Server(std::move(runtime).value()));
    server->inherited_ = std::move(inherited);
    server->upgrade_ready_fd_ = ready_fd;
    server->binary_path_ = own_binary_path();
    if (auto r = server->start_admin(); !r) return std::move(r).error();
    if (auto r = server->start_expiry(); !r) return std::move(r).error();
    server->install_signal_handlers();
    if (auto r = server->start_workers(); !r) return std::move(r).error();
    server->inherited_.close_unused();
    // Listening: the process that started this one may stop accepting now.
    send_upgrade_ready(std::exchange(server->upgrade_ready_fd_, -1));
    return server;
}

// One socket per listener new in `next` (all of them at start-up) for each worker. One owner
// per address: unless share_listen_ports is set, an address another process listens on is an
// error naming it (address_owner.h), checked before our SO_REUSEPORT sockets are bound; a
// single worker binds without SO_REUSEPORT. With share_listen_ports every socket has it, so
// processes that all set it spread the clients between them.
Result<std::vector<ListenerSockets>> Server::bind_new_listeners(const Runtime& next, const Runtime* current) {
    unsigned count = worker_count(runtime_->config.server.workers);
    bool share = next.config.server.share_listen_ports;
    std::vector<ListenerSockets> per_worker(count);
    std::vector<const conf::Listener*> ours;  // listening already, or bound by this call
    if (current)
        for (const auto& settings : current->listeners) ours.push_back(&settings->conf);
    for (const auto& settings : next.listeners) {
        std::string key = listener_key(settings->conf);
        if (current && current->listener_at(key)) continue;  // keeps its socket
        if (!current && adopt_inherited(key, per_worker)) {
            ours.push_back(&settings->conf);
            continue;
        }
        if (!share && !overlaps_own_listener(settings->conf, ours)) {
            if (auto free = check_address_unowned(settings->conf); !free) {
                close_sockets(per_worker);
                return std::move(free).error();
            }
        }
        for (auto& sockets : per_worker) {
            auto fd = bind_listener_socket(settings->conf, count > 1 || share);
            if (!fd) {
                close_sockets(per_worker);
                return std::move(fd).error();
            }
            sockets.emplace(key, *fd);
        }
        ours.push_back(&settings->conf);
    }
    return per_worker;
}

// At start-up: the sockets handed over for `key` (inherited_sockets.h), instead of binding.
// Worker i takes sockets i, i+workers, ... so none is closed (which would drop the
// connections in its queue); a worker left without one listens on a duplicate of another
// (same socket: the kernel hands each connection to one of the workers waiting on it).
bool Server::adopt_inherited(const std::string& key, std::vector<ListenerSockets>& per_worker) {
    std::vector<int> fds = inherited_.take_address(key);
    if (fds.empty()) return false;
    for (std::size_t i = 0; i < fds.size(); ++i) per_worker[i % per_worker.size()].emplace(key, fds[i]);
    for (std::size_t i = fds.size(); i < per_worker.size(); ++i) {
        int copy = fcntl(fds[i % fds.size()], F_DUPFD_CLOEXEC, 0);
        if (copy >= 0) per_worker[i].emplace(key, copy);
    }
    log::Record("listener_inherited").field("address", key).field("sockets", static_cast<std::uint64_t>(fds.size()))
        .field("workers", static_cast<std::uint64_t>(per_worker.size())).emit(conf::LogLevel::info);
    return true;
}

void Server::remember_sockets(const std::vector<ListenerSockets>& per_worker) {
    std::erase_if(listener_fds_, [&](const auto& entry) { return !runtime_->listener_at(entry.first); });
    for (const auto& sockets : per_worker)
        for (const auto& [key, fd] : sockets) listener_fds_[key].push_back(fd);
}

Result<Ok> Server::start_workers() {
    auto sockets = bind_new_listeners(*runtime_, nullptr);
    if (!sockets) return std::move(sockets).error();
    remember_sockets(*sockets);
    for (unsigned i = 0; i < sockets->size(); ++i) {
        auto worker = std::make_unique<Worker>(i, shared_, runtime_);
        worker->set_on_finished([this] {
            ++finished_workers_;
            uv_async_send(&worker_finished_);
        });
        workers_.push_back(std::move(worker));
    }
    for (unsigned i = 0; i < workers_.size(); ++i) {
        if (auto r = workers_[i]->open_listeners(std::move((*sockets)[i])); !r) {
            for (unsigned j = i + 1; j < workers_.size(); ++j) close_sockets({(*sockets)[j]});
            return std::move(r).error();
        }
    }
    // Every socket is bound and every key read: give up root before a worker serves a byte.
    const auto& server = runtime_->config.server;
    if (auto r = drop_privileges(server.user, server.group); !r) return std::move(r).error();
    for (auto& worker : workers_) worker->start();
    for (const auto& settings : runtime_->listeners)
        log::Record("listening")
            .field("listener", settings->conf.name)
            .field("address", settings->conf.listen.text)
            .field("backend", settings->conf.backend.text)
            .field("revocation", settings->conf.revocation.value_or("none"))
            .field("workers", static_cast<std::uint64_t>(workers_.size()))
            .emit(conf::LogLevel::info);
    return Ok{};
}

// Before the workers start, so Shared::peer_certificates is in place for their first
// handshake. The monitor runs on the main loop once run() starts it.
Result<Ok> Server::start_expiry() {
    const conf::Expiry& expiry = runtime_->config.expiry;
    if (!expiry.enabled) return Ok{};
    if (expiry.include_peer_certificates) {
        peer_certificates_ = std::make_unique<expiry::PeerCertificates>(expiry.max_peer_certificates);
        shared_.peer_certificates = peer_certificates_.get();
    }
    auto monitor = expiry::ExpiryMonitor::create(&loop_, runtime_->config, runtime_->watched_certificates,
                                         peer_certificates_.get());
    if (!monitor) return std::move(monitor).error();
    expiry_ = std::move(monitor).value();
    return Ok{};
}

// Binds before the workers start, so a busy admin port is a start-up error; requests are
// served once run() runs the main loop.
Result<Ok> Server::start_admin() {
    if (!runtime_->config.admin.enabled) return Ok{};
    auto admin = admin::AdminServer::create(&loop_, runtime_->config.admin,
                                     [this](std::string_view method, std::string_view path, admin::AdminServer::Reply reply) {
                                         answer_admin(method, path, std::move(reply));
                                     },
                                     inherited_.take_named("admin"));
    if (!admin) return std::move(admin).error();
    admin_ = std::move(admin).value();
    log::Record("admin listening").field("address", admin_->address()).emit(conf::LogLevel::info);
    return Ok{};
}

// Ready while the listeners accept: from start-up (they are bound before the main loop runs)
// until the first SIGTERM/SIGINT starts the drain.
void Server::answer_admin(std::string_view method, std::string_view path, admin::AdminServer::Reply reply) {
    static constexpr std::string_view kText = "text/plain; charset=utf-8";
    static constexpr std::string_view kGetPaths[] = {"/healthz", "/readyz", "/metrics", "/status"};
    if (path == "/reload") {
        if (method != "POST") return reply({405, std::string(kText), "method not allowed\n", "POST"});
        return reload("POST /reload", [reply](Result<std::uint64_t> generation) {
            if (generation) return reply({200, std::string(kText), "reloaded: generation " + std::to_string(*generation) + "\n", ""});
            int status = generation.error().code == Errc::config ? 422 : 409;
            reply({status, std::string(kText), "reload refused, the running configuration stays:\n" + generation.error().message + "\n", ""});
        });
    }
    if (std::find(std::begin(kGetPaths), std::end(kGetPaths), path) == std::end(kGetPaths))
        return reply({404, std::string(kText), "not found\n", ""});
    if (method != "GET") return reply({405, std::string(kText), "method not allowed\n", "GET"});
    if (path == "/healthz") return reply({200, std::string(kText), "ok\n", ""});
    if (path == "/readyz")
        return reply(stopping_ ? admin::AdminResponse{503, std::string(kText), "draining\n", ""}
                               : admin::AdminResponse{200, std::string(kText), "ready\n", ""});
    if (path == "/metrics") return reply({200, std::string(metrics::MetricsText::kContentType), admin::render_metrics(*runtime_, shared_, expiry_.get(), staples_.get()), ""});
    reply({200, "application/json", admin::render_status(*runtime_, shared_, expiry_.get()), ""});
}

void Server::reload(std::string trigger, ReloadDone done) {
    auto refuse_now = [&](std::string why) {
        log::Record("reload_failed").field("trigger", trigger).field("error", why).emit(conf::LogLevel::error);
        done(make_error(Errc::unavailable, std::move(why)));
    };
    if (stopping_) return refuse_now("shutting down");
    if (reloading_) return refuse_now("a reload is already running");
    // The new process reads the file itself; a listener added here would not be handed to it.
    if (upgrade_) return refuse_now("a binary upgrade is running");
    reloading_ = true;
    reload_trigger_ = std::move(trigger);
    log::Record("reload").field("trigger", reload_trigger_).field("config", runtime_->config.source.string())
        .emit(conf::LogLevel::info);
    load_runtime_async(&loop_, runtime_->config.source, runtime_,
                       [this, done = std::move(done)](Result<std::shared_ptr<const Runtime>> built) {
                           apply_reload(std::move(built), done);
                       });
}

void Server::apply_reload(Result<std::shared_ptr<const Runtime>> built, const ReloadDone& done) {
    auto refuse = [&](const Error& error) {
        reloading_ = false;
        log::Record("reload_failed").field("trigger", reload_trigger_).field("error", error.message)
            .emit(conf::LogLevel::error);
        done(error);
    };
    if (stopping_) return refuse(make_error(Errc::unavailable, "shutting down"));
    if (!built) return refuse(built.error());
    std::shared_ptr<const Runtime> next = std::move(built).value();
    auto sockets = bind_new_listeners(*next, runtime_.get());
    if (!sockets) return refuse(sockets.error());
    for (const auto& key : needs_restart(runtime_->config, next->config))
        log::Record("reload_needs_restart").field("trigger", reload_trigger_).field("setting", key)
            .emit(conf::LogLevel::warn);
    log_reload_changes(reload_changes(*runtime_, *next), reload_trigger_);
    for (const auto& [name, checker] : runtime_->checkers) retired_checkers_.push_back(checker);
    runtime_ = std::move(next);
    remember_sockets(*sockets);
    if (expiry_) {
        if (auto r = expiry_->reconfigure(runtime_->config, runtime_->watched_certificates); !r)
            log::Record("expiry_reload_failed").field("error", r.error().message).emit(conf::LogLevel::error);
    }
    if (staples_) staples_->apply(*runtime_);
    // Done (logged, answered) only once every worker has switched: a client that connects
    // after a 200 from POST /reload must meet the new listeners and certificates.
    reload_done_ = done;
    workers_applying_ = static_cast<unsigned>(workers_.size());
    for (unsigned i = 0; i < workers_.size(); ++i)
        workers_[i]->update({runtime_, std::move((*sockets)[i]), [this] {
                                 if (--workers_applying_ == 0) uv_async_send(&reload_applied_);
                             }});
}

// On the main loop, once the last worker has applied the reload.
void Server::on_reload_applied(uv_async_t* handle) noexcept {
    auto* self = static_cast<Server*>(handle->data);
    if (!self->reloading_ || self->workers_applying_ != 0) return;
    self->reloading_ = false;
    log::Record("reloaded").field("trigger", self->reload_trigger_).field("generation", self->runtime_->generation)
        .field("listeners", static_cast<std::uint64_t>(self->runtime_->listeners.size()))
        .emit(conf::LogLevel::info);
    std::exchange(self->reload_done_, nullptr)(self->runtime_->generation);
}

// Installed before the workers start (and before the `listening` line), so a SIGTERM that
// arrives between start-up and run() drains like any other instead of killing the process;
// libuv delivers it once run() runs the loop.
void Server::install_signal_handlers() {
    std::signal(SIGPIPE, SIG_IGN);  // write errors arrive as EPIPE from libuv instead
    uv_signal_init(&loop_, &sigterm_);
    uv_signal_init(&loop_, &sigint_);
    uv_signal_init(&loop_, &sighup_);
    uv_signal_init(&loop_, &sigusr2_);
    sigterm_.data = sigint_.data = sighup_.data = sigusr2_.data = this;
    uv_signal_start(&sigterm_, on_signal, SIGTERM);
    uv_signal_start(&sigint_, on_signal, SIGINT);
    uv_signal_start(&sighup_, on_sighup, SIGHUP);
    uv_signal_start(&sigusr2_, on_sigusr2, SIGUSR2);
    signals_installed_ = true;
}

int Server::run() {
    uv_timer_init(&loop_, &housekeeping_);
    housekeeping_.data = this;
    uv_timer_start(&housekeeping_, on_housekeeping, kHousekeepingIntervalMs, kHousekeepingIntervalMs);
    if (expiry_) expiry_->start();
    staples_ = std::make_unique<staple::OwnStaples>(&loop_);
    staples_->apply(*runtime_);
    uv_run(&loop_, UV_RUN_DEFAULT);
    for (auto& worker : workers_) worker->join();
    log::Record("stopped").emit(conf::LogLevel::info);
    return 0;
}

// First SIGTERM/SIGINT: drain (stop accepting, let connections finish until drain_timeout).
// A second one: close every connection now.
void Server::on_signal(uv_signal_t* handle, int signum) noexcept {
    auto* self = static_cast<Server*>(handle->data);
    self->drain(signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

// The first call drains (stop accepting, let connections finish until drain_timeout); the
// next closes every connection now.
void Server::drain(const char* why) {
    bool now = stopping_;
    stopping_ = true;
    log::Record("signal").field("signal", why).field("action", now ? "stop now" : "drain").emit(conf::LogLevel::info);
    for (auto& worker : workers_) now ? worker->request_stop_now() : worker->request_drain();
}

void Server::on_sigusr2(uv_signal_t* handle, int /*signum*/) noexcept {
    static_cast<Server*>(handle->data)->upgrade("SIGUSR2");
}

// What the new process gets: every worker's socket for every listener (the new one matches
// them by address), then the admin endpoint's (by its name, "admin"). A socket a worker closed since (a failed reload step) is left out.
std::vector<HandedSocket> Server::sockets_to_hand_over() const {
    std::vector<HandedSocket> out;
    for (const auto& settings : runtime_->listeners) {
        auto it = listener_fds_.find(listener_key(settings->conf));
        if (it == listener_fds_.end()) continue;
        for (int fd : it->second) out.push_back({fd, "listener"});  // a fixed name: a listener may be called "admin"
    }
    if (admin_ && admin_->fd() >= 0) out.push_back({admin_->fd(), "admin"});
    return out;
}

void Server::upgrade(std::string trigger) {
    auto refuse = [&](const std::string& why) {
        log::Record("upgrade_failed").field("trigger", trigger).field("error", why).emit(conf::LogLevel::error);
    };
    if (stopping_) return refuse("shutting down");
    if (reloading_) return refuse("a reload is running; try again once it is done");
    if (upgrade_) return refuse(fmt::format("an upgrade already started process {}", upgrade_->pid()));
    auto sockets = sockets_to_hand_over();
    auto started = Upgrade::start(&loop_, binary_path_, runtime_->config.source.string(), sockets,
                                  [this](Result<pid_t> ready) { on_upgrade_done(std::move(ready)); });
    if (!started) return refuse(started.error().message);
    upgrade_ = std::move(started).value();
    log::Record("upgrade").field("trigger", trigger).field("binary", binary_path_)
        .field("pid", static_cast<std::int64_t>(upgrade_->pid()))
        .field("sockets", static_cast<std::uint64_t>(sockets.size())).emit(conf::LogLevel::info);
}

// The new process listens on the same sockets: stop accepting here and drain. The admin
// endpoint stops at once, so probes and `ocspgate status` reach the new process only.
void Server::on_upgrade_done(Result<pid_t> ready) {
    if (!ready) {
        log::Record("upgrade_failed").field("error", ready.error().message).emit(conf::LogLevel::error);
        Upgrade::destroy(std::move(upgrade_));  // this process serves on; another upgrade may be tried
        return;
    }
    log::Record("upgrade_ready").field("pid", static_cast<std::int64_t>(*ready))
        .field("text", "the new process is listening; this one drains").emit(conf::LogLevel::info);
    if (admin_) admin_->close();
    if (!stopping_) drain("upgrade");
}

// Runs on the main loop each time a worker's loop has ended; the last one ends the main loop.
void Server::on_worker_finished(uv_async_t* handle) noexcept {
    auto* self = static_cast<Server*>(handle->data);
    if (self->finished_workers_.load() < self->workers_.size()) return;
    uv_close(reinterpret_cast<uv_handle_t*>(&self->sigterm_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&self->sigint_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&self->sighup_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&self->sigusr2_), nullptr);
    Upgrade::destroy(std::move(self->upgrade_));
    // Closing the handles restores the default action, under which a late second SIGTERM
    // would kill a process that has already shut down cleanly: the work is done, ignore it.
    std::signal(SIGTERM, SIG_IGN);
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGHUP, SIG_IGN);
    std::signal(SIGUSR2, SIG_IGN);
    uv_close(reinterpret_cast<uv_handle_t*>(&self->worker_finished_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&self->reload_applied_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&self->housekeeping_), nullptr);
    if (self->admin_) self->admin_->close();
    if (self->expiry_) self->expiry_->close();
    if (self->staples_) self->staples_->close();
}

void Server::on_sighup(uv_signal_t* handle, int /*signum*/) noexcept {
    static_cast<Server*>(handle->data)->reload("SIGHUP", [](Result<std::uint64_t>) {});  // the outcome is logged
}

void Server::on_housekeeping(uv_timer_t* handle) noexcept {
    auto* self = static_cast<Server*>(handle->data);
    for (auto& [name, checker] : self->runtime_->checkers) checker->refresh_local_files();
    self->free_retired_checkers();
}

// A retired checker goes once this list holds its last reference (no connection or listener
// uses it) and it has no lookup running; it is freed here, on the main thread.
void Server::free_retired_checkers() {
    std::erase_if(retired_checkers_, [](const std::shared_ptr<ocsp::Checker>& checker) {
        return checker.use_count() == 1 && checker->idle();
    });
}

}  // namespace ocspgate::proxy::process
