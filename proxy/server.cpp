#include "proxy/server.h"

#include <algorithm>
#include <csignal>
#include <thread>

#include "ocsp/factory.h"
#include "proxy/admin_pages.h"
#include "proxy/metrics_text.h"
#include "proxy/log.h"
#include "proxy/socket_address.h"
#include "tls/context.h"

namespace ocspgate::proxy {
namespace {

// How often the main thread looks for changed local files (CRL files).
constexpr std::uint64_t kHousekeepingIntervalMs = 5000;

tls::ServerContextOptions context_options(const conf::Listener& l) {
    tls::ServerContextOptions o;
    o.certificate_chain = l.tls.certificate;
    o.private_key = l.tls.private_key;
    o.client_ca = l.tls.client_ca;
    o.verify_peer = l.tls.verify_client == conf::VerifyClient::required   ? tls::PeerVerification::required
                    : l.tls.verify_client == conf::VerifyClient::optional ? tls::PeerVerification::optional
                                                                          : tls::PeerVerification::none;
    o.min_version = l.tls.min_version == conf::TlsVersion::v1_3 ? tls::MinVersion::tls1_3 : tls::MinVersion::tls1_2;
    o.async_verification = l.revocation.has_value();
    return o;
}

unsigned worker_count(unsigned configured) {
    if (configured != 0) return configured;
    unsigned cores = std::thread::hardware_concurrency();
    return cores == 0 ? 1 : cores;
}

}  // namespace

Server::Server(conf::Config config) : config_(std::move(config)) {
    uv_loop_init(&loop_);
    uv_async_init(&loop_, &worker_finished_, on_worker_finished);
    worker_finished_.data = this;
    shared_.server = config_.server;
}

Server::~Server() {
    if (admin_) admin_->close();
    for (auto& worker : workers_) worker->join();
    workers_.clear();
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&worker_finished_)))
        uv_close(reinterpret_cast<uv_handle_t*>(&worker_finished_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
}

Result<std::unique_ptr<Server>> Server::create(conf::Config config) {
    std::unique_ptr<Server> server(new Server(std::move(config)));
    if (auto r = server->build_listeners(); !r) return std::move(r).error();
    if (auto r = server->start_admin(); !r) return std::move(r).error();
    if (auto r = server->start_workers(); !r) return std::move(r).error();
    return server;
}

Result<Ok> Server::build_listeners() {
    for (const auto& [name, profile] : config_.revocation) {
        auto checker = ocsp::create_checker(profile);
        if (!checker) return std::move(checker).error();
        checkers_.emplace(name, std::move(checker).value());
    }
    for (const conf::Listener& l : config_.listeners) {
        auto ctx = tls::make_server_context(context_options(l));
        if (!ctx) return make_error(Errc::config, "listener " + l.name + ": " + ctx.error().message);
        auto settings = std::make_unique<ListenerSettings>();
        settings->conf = l;
        settings->ssl_ctx = std::move(ctx).value();
        if (l.revocation) settings->checker = checkers_.at(*l.revocation).get();
        if (l.backend_tls) {
            auto backend_ctx = tls::make_client_context(l.backend_ca, l.backend_revocation.has_value());
            if (!backend_ctx) return make_error(Errc::config, "listener " + l.name + ": " + backend_ctx.error().message);
            settings->backend_ctx = std::move(backend_ctx).value();
            settings->backend_server_name = l.backend_server_name.empty()
                                                ? format_host(reinterpret_cast<const sockaddr*>(&l.backend.storage))
                                                : l.backend_server_name;
            if (l.backend_revocation) settings->backend_checker = checkers_.at(*l.backend_revocation).get();
        }
        shared_.listeners.push_back(std::move(settings));
    }
    return Ok{};
}

Result<Ok> Server::start_workers() {
    unsigned count = worker_count(config_.server.workers);
    for (unsigned i = 0; i < count; ++i) {
        auto worker = std::make_unique<Worker>(i, shared_);
        worker->set_on_finished([this] {
            ++finished_workers_;
            uv_async_send(&worker_finished_);
        });
        // A single worker binds without SO_REUSEPORT, so a port already in use is an error
        // rather than a silent share with another process.
        if (auto r = worker->bind_listeners(count > 1); !r) return std::move(r).error();
        workers_.push_back(std::move(worker));
    }
    for (auto& worker : workers_) worker->start();
    for (const auto& settings : shared_.listeners)
        log::Record("listening")
            .field("listener", settings->conf.name)
            .field("address", settings->conf.listen.text)
            .field("backend", settings->conf.backend.text)
            .field("revocation", settings->conf.revocation.value_or("none"))
            .field("workers", count)
            .emit(conf::LogLevel::info);
    return Ok{};
}

// Binds before the workers start, so a busy admin port is a start-up error; requests are
// served once run() runs the main loop.
Result<Ok> Server::start_admin() {
    if (!config_.admin.enabled) return Ok{};
    auto admin = AdminServer::create(&loop_, config_.admin, [this](std::string_view method, std::string_view path) {
        return answer_admin(method, path);
    });
    if (!admin) return std::move(admin).error();
    admin_ = std::move(admin).value();
    log::Record("admin listening").field("address", admin_->address()).emit(conf::LogLevel::info);
    return Ok{};
}

// Ready while the listeners accept: from start-up (they are bound before the main loop runs)
// until the first SIGTERM/SIGINT starts the drain.
AdminResponse Server::answer_admin(std::string_view method, std::string_view path) const {
    static constexpr std::string_view kPaths[] = {"/healthz", "/readyz", "/metrics", "/status"};
    if (std::find(std::begin(kPaths), std::end(kPaths), path) == std::end(kPaths))
        return {404, "text/plain; charset=utf-8", "not found\n", ""};
    if (method != "GET") return {405, "text/plain; charset=utf-8", "method not allowed\n", "GET"};
    if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n", ""};
    if (path == "/readyz")
        return stopping_ ? AdminResponse{503, "text/plain; charset=utf-8", "draining\n", ""}
                         : AdminResponse{200, "text/plain; charset=utf-8", "ready\n", ""};
    if (path == "/metrics") return {200, std::string(MetricsText::kContentType), render_metrics(shared_, checkers_), ""};
    return {200, "application/json", render_status(config_, shared_, checkers_), ""};
}

int Server::run() {
    std::signal(SIGPIPE, SIG_IGN);  // write errors arrive as EPIPE from libuv instead
    uv_signal_init(&loop_, &sigterm_);
    uv_signal_init(&loop_, &sigint_);
    sigterm_.data = sigint_.data = this;
    uv_signal_start(&sigterm_, on_signal, SIGTERM);
    uv_signal_start(&sigint_, on_signal, SIGINT);
    uv_timer_init(&loop_, &housekeeping_);
    housekeeping_.data = this;
    uv_timer_start(&housekeeping_, on_housekeeping, kHousekeepingIntervalMs, kHousekeepingIntervalMs);
    uv_run(&loop_, UV_RUN_DEFAULT);
    for (auto& worker : workers_) worker->join();
    log::Record("stopped").emit(conf::LogLevel::info);
    return 0;
}

// First SIGTERM/SIGINT: drain (stop accepting, let connections finish until drain_timeout).
// A second one: close every connection now.
void Server::on_signal(uv_signal_t* handle, int signum) noexcept {
    auto* self = static_cast<Server*>(handle->data);
    bool now = self->stopping_;
    self->stopping_ = true;
    log::Record("signal").field("signal", signum == SIGTERM ? "SIGTERM" : "SIGINT").field("action", now ? "stop now" : "drain")
        .emit(conf::LogLevel::info);
    for (auto& worker : self->workers_) now ? worker->request_stop_now() : worker->request_drain();
}

// Runs on the main loop each time a worker's loop has ended; the last one ends the main loop.
void Server::on_worker_finished(uv_async_t* handle) noexcept {
    auto* self = static_cast<Server*>(handle->data);
    if (self->finished_workers_.load() < self->workers_.size()) return;
    uv_close(reinterpret_cast<uv_handle_t*>(&self->sigterm_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&self->sigint_), nullptr);
    // Closing the handles restores the default action, under which a late second SIGTERM
    // would kill a process that has already shut down cleanly: the work is done, ignore it.
    std::signal(SIGTERM, SIG_IGN);
    std::signal(SIGINT, SIG_IGN);
    uv_close(reinterpret_cast<uv_handle_t*>(&self->worker_finished_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&self->housekeeping_), nullptr);
    if (self->admin_) self->admin_->close();
}

void Server::on_housekeeping(uv_timer_t* handle) noexcept {
    auto* self = static_cast<Server*>(handle->data);
    for (auto& [name, checker] : self->checkers_) checker->refresh_local_files();
}

}  // namespace ocspgate::proxy
