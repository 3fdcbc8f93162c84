// Binary upgrade without refusing a connection (SIGUSR2), the way nginx does it: the running
// process starts the binary installed at its own path again, handing it every listening
// socket (each worker's, and the admin endpoint's) by the sd_listen_fds protocol
// (inherited_sockets.h). The new process adopts them instead of binding, starts its workers,
// and writes "ready" on a pipe it got as OCSPGATE_UPGRADE_READY_FD. Only then does the old
// process stop accepting and drain, as on SIGTERM. Both hold the same sockets, so their accept
// queues never close: a client that connects at any moment waits in the queue and is accepted
// by one process or the other.
//
// When the new process exits or does not report ready within kReadyTimeoutMs (it is sent
// SIGTERM then), nothing changes: the old one keeps serving and logs why.
//
// The child is made with fork() + execve(): between them it only calls async-signal-safe
// functions (sigaction, sigprocmask, dup2, execve, _exit), because the parent has other
// threads. uv_spawn cannot be used: LISTEN_PID must be the child's own pid, known only after
// the fork.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace ocspgate::proxy::process {

struct HandedSocket {
    int fd;            // stays open in this process
    std::string name;  // in LISTEN_FDNAMES: "listener", or "admin"
};

class Upgrade {
public:
    static constexpr std::uint64_t kReadyTimeoutMs = 60000;

    // ready: the new process listens (pid); otherwise why the upgrade failed.
    using Done = std::function<void(Result<pid_t> ready)>;

    // Starts `binary --config config_path` with `sockets` on the main loop `loop`.
    static Result<std::unique_ptr<Upgrade>> start(uv_loop_t* loop, const std::string& binary,
                                                  const std::string& config_path,
                                                  const std::vector<HandedSocket>& sockets, Done done);
    ~Upgrade();
    Upgrade(const Upgrade&) = delete;
    Upgrade& operator=(const Upgrade&) = delete;

    // Closes the handles; the object frees itself once libuv has closed them (so this may be
    // called from `done`). The new process runs on.
    static void destroy(std::unique_ptr<Upgrade> upgrade);
    pid_t pid() const { return pid_; }

private:
    Upgrade() = default;
    void finish(Result<pid_t> outcome);
    static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
    static void on_timeout(uv_timer_t* timer) noexcept;
    static void on_sigchld(uv_signal_t* handle, int signum) noexcept;

    pid_t pid_ = -1;
    Done done_;
    bool finished_ = false;
    bool reaped_ = false;  // the new process exited and was waited for
    int open_handles_ = 3;
    std::string received_;
    char read_buffer_[64]{};
    uv_pipe_t ready_pipe_{};
    uv_timer_t timer_{};
    uv_signal_t sigchld_{};
};

// In the new process: the descriptor to report readiness on (OCSPGATE_UPGRADE_READY_FD,
// removed from the environment), or -1 when this start is not an upgrade.
int take_upgrade_ready_fd();
// Writes "ready" on it and closes it.
void send_upgrade_ready(int fd);

// The path this binary was started from, for the upgrade to run the file installed there now
// ("" when /proc/self/exe cannot be read).
std::string own_binary_path();

}  // namespace ocspgate::proxy::process
