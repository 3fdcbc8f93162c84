// The process: turns a validated Config into TLS contexts, revocation checkers and worker
// loops, then runs the main loop, which handles signals, housekeeping and the admin endpoint
// (never client traffic).
#pragma once

#include <uv.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"
#include "ocsp/checker.h"
#include "proxy/admin_server.h"
#include "proxy/worker.h"
#include "tls/result.h"

namespace ocspgate::proxy {

class Server {
public:
    static Result<std::unique_ptr<Server>> create(conf::Config config);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Runs until SIGTERM/SIGINT has drained every worker. Returns the process exit code.
    int run();

private:
    explicit Server(conf::Config config);
    Result<Ok> build_listeners();
    Result<Ok> start_workers();
    Result<Ok> start_admin();
    AdminResponse answer_admin(std::string_view method, std::string_view path) const;
    static void on_signal(uv_signal_t* handle, int signum) noexcept;
    static void on_worker_finished(uv_async_t* handle) noexcept;
    static void on_housekeeping(uv_timer_t* handle) noexcept;

    conf::Config config_;
    Shared shared_;
    std::map<std::string, std::unique_ptr<ocsp::Checker>> checkers_;  // by profile name
    std::vector<std::unique_ptr<Worker>> workers_;
    uv_loop_t loop_{};
    uv_signal_t sigterm_{};
    uv_signal_t sigint_{};
    uv_async_t worker_finished_{};
    uv_timer_t housekeeping_{};
    std::unique_ptr<AdminServer> admin_;  // null without [admin]; on the main loop
    std::atomic<unsigned> finished_workers_{0};
    bool stopping_ = false;
};

}  // namespace ocspgate::proxy
