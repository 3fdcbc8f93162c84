// The process: turns a validated Config into a Runtime (TLS contexts, revocation checkers,
// listener settings) and worker loops, then runs the main loop, which handles signals,
// housekeeping, reloads and the admin endpoint (never client traffic).
//
// Reload (SIGHUP or POST /reload): the config file is loaded and a new Runtime built on the
// thread pool; an invalid file or a listener that cannot bind changes nothing. Otherwise the
// workers switch to it for new connections, established ones keep theirs. Settings that need
// a restart ([server] workers, log_format; [admin]) are reported and keep their old values.
#pragma once

#include <uv.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"
#include "ocsp/checker.h"
#include "proxy/admin/server.h"
#include "proxy/expiry/monitor.h"
#include "proxy/expiry/peer_certificates.h"
#include "proxy/staple/own_staples.h"
#include "proxy/core/runtime.h"
#include "proxy/core/worker.h"
#include "proxy/process/inherited_sockets.h"
#include "proxy/process/upgrade.h"
#include "base/result.h"

namespace ocspgate::proxy::process {

class Server {
public:
    static Result<std::unique_ptr<Server>> create(conf::Config config);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Runs until SIGTERM/SIGINT has drained every worker. Returns the process exit code.
    int run();

    // Re-reads the config file (see above); `done` gets the outcome on the main loop. Main
    // thread only.
    using ReloadDone = std::function<void(Result<std::uint64_t> generation)>;
    // `trigger` ("SIGHUP", "POST /reload") is named on every line the reload logs; both
    // triggers take this one path and log the same events.
    void reload(std::string trigger, ReloadDone done);

    // Binary upgrade (SIGUSR2, upgrade.h): starts the binary at this one's path with every
    // listening socket; once it is listening, this process drains as on SIGTERM.
    void upgrade(std::string trigger);

private:
    explicit Server(std::shared_ptr<const Runtime> runtime);
    Result<Ok> start_workers();
    Result<Ok> start_admin();
    Result<Ok> start_expiry();
    Result<std::vector<ListenerSockets>> bind_new_listeners(const Runtime& next, const Runtime* current);
    bool adopt_inherited(const std::string& key, std::vector<ListenerSockets>& per_worker);
    void remember_sockets(const std::vector<ListenerSockets>& per_worker);
    std::vector<HandedSocket> sockets_to_hand_over() const;
    void on_upgrade_done(Result<pid_t> ready);
    void drain(const char* why);
    static void on_sigusr2(uv_signal_t* handle, int signum) noexcept;
    void apply_reload(Result<std::shared_ptr<const Runtime>> built, const ReloadDone& done);
    void answer_admin(std::string_view method, std::string_view path, admin::AdminServer::Reply reply);
    void install_signal_handlers();
    static void on_signal(uv_signal_t* handle, int signum) noexcept;
    static void on_sighup(uv_signal_t* handle, int signum) noexcept;
    static void on_worker_finished(uv_async_t* handle) noexcept;
    static void on_reload_applied(uv_async_t* handle) noexcept;
    static void on_housekeeping(uv_timer_t* handle) noexcept;
    void free_retired_checkers();

    std::shared_ptr<const Runtime> runtime_;  // the one new connections get
    Shared shared_;
    std::vector<std::unique_ptr<Worker>> workers_;
    // Checkers of replaced Runtimes, kept until no connection uses them and no lookup they
    // started is running (a lookup's completion calls back into its checker).
    std::vector<std::shared_ptr<ocsp::Checker>> retired_checkers_;
    bool reloading_ = false;                     // from reload() until every worker applied it
    ReloadDone reload_done_;                     // the running reload's answer
    std::string reload_trigger_;                 // what asked for the running reload
    std::atomic<unsigned> workers_applying_{0};  // workers yet to apply it
    uv_async_t reload_applied_{};
    uv_loop_t loop_{};
    uv_signal_t sigterm_{};
    uv_signal_t sigint_{};
    uv_signal_t sighup_{};
    uv_signal_t sigusr2_{};
    bool signals_installed_ = false;
    uv_async_t worker_finished_{};
    uv_timer_t housekeeping_{};
    std::unique_ptr<admin::AdminServer> admin_;  // null without [admin]; on the main loop
    std::unique_ptr<expiry::PeerCertificates> peer_certificates_;  // null without include_peer_certificates
    std::unique_ptr<expiry::ExpiryMonitor> expiry_;  // null with [expiry] enabled = false; on the main loop
    std::unique_ptr<staple::OwnStaples> staples_;    // the listeners' own OCSP staples; on the main loop
    std::atomic<unsigned> finished_workers_{0};
    // Sockets handed over by socket activation or an upgrade; emptied once start-up took them.
    InheritedSockets inherited_;
    int upgrade_ready_fd_ = -1;  // this process is the new one of an upgrade: report "ready" here
    std::string binary_path_;    // what an upgrade starts
    std::unique_ptr<Upgrade> upgrade_;  // the upgrade running, or the one that succeeded
    // Every worker's listening socket by listener_key(), for an upgrade to hand over (the
    // workers own them; main thread only, kept in step with start-up and reloads).
    std::map<std::string, std::vector<int>> listener_fds_;
    bool stopping_ = false;
};

}  // namespace ocspgate::proxy::process
