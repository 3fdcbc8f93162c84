#include "proxy/process/upgrade.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "proxy/log/log.h"

extern char** environ;

namespace ocspgate::proxy::process {
namespace {

constexpr int kFirstListenFd = 3;
constexpr const char* kReadyVariable = "OCSPGATE_UPGRADE_READY_FD";
constexpr std::string_view kPidPrefix = "LISTEN_PID=";
constexpr std::size_t kPidDigits = 20;

Error errno_error(const char* what) { return make_error(Errc::io, fmt::format("upgrade: {}: {}", what, strerror(errno))); }

bool replaced_variable(std::string_view entry) {
    for (std::string_view name : {"LISTEN_PID=", "LISTEN_FDS=", "LISTEN_FDNAMES=", "OCSPGATE_UPGRADE_READY_FD="})
        if (entry.starts_with(name)) return true;
    return false;
}

// In the child, between fork and execve: async-signal-safe only.
void write_pid(char* digits) {
    char reversed[kPidDigits];
    std::size_t n = 0;
    for (unsigned long pid = static_cast<unsigned long>(getpid()); n == 0 || pid != 0; pid /= 10)
        reversed[n++] = static_cast<char>('0' + pid % 10);
    for (std::size_t i = 0; i < n; ++i) digits[i] = reversed[n - 1 - i];
    digits[n] = '\0';
}

[[noreturn]] void exec_child(const std::vector<int>& high_fds, int ready_fd, char* pid_digits, char* const argv[],
                             char* const envp[]) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);  // no libuv handler in the child
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    write_pid(pid_digits);
    int target = kFirstListenFd;
    for (int fd : high_fds)
        if (dup2(fd, target++) < 0) _exit(127);  // dup2 clears FD_CLOEXEC on the copy
    if (dup2(ready_fd, target) < 0) _exit(127);
    execve(argv[0], argv, envp);
    _exit(127);
}

}  // namespace

Result<std::unique_ptr<Upgrade>> Upgrade::start(uv_loop_t* loop, const std::string& binary,
                                                const std::string& config_path,
                                                const std::vector<HandedSocket>& sockets, Done done) {
    if (binary.empty()) return make_error(Errc::unavailable, "upgrade: the binary's path is unknown");
    if (access(binary.c_str(), X_OK) != 0) return errno_error(binary.c_str());
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0) return errno_error("pipe");
    // Copies above every number the child's layout uses, so no dup2 there overwrites a source.
    int above = kFirstListenFd + static_cast<int>(sockets.size()) + 1;
    std::vector<int> high;
    auto close_all = [&] {
        for (int fd : high) ::close(fd);
        ::close(ready[0]);
        ::close(ready[1]);
    };
    for (const auto& socket : sockets) {
        int fd = fcntl(socket.fd, F_DUPFD_CLOEXEC, above);
        if (fd < 0) {
            Error error = errno_error("dup");
            close_all();
            return error;
        }
        high.push_back(fd);
    }
    int ready_high = fcntl(ready[1], F_DUPFD_CLOEXEC, above);
    if (ready_high < 0) {
        Error error = errno_error("dup");
        close_all();
        return error;
    }
    ::close(ready[1]);
    ready[1] = ready_high;

    // Everything the child needs, built before the fork.
    std::string names;
    for (const auto& socket : sockets) names += (names.empty() ? "" : ":") + socket.name;
    std::vector<std::string> env_strings;
    for (char** e = environ; e && *e; ++e)
        if (!replaced_variable(*e)) env_strings.emplace_back(*e);
    env_strings.push_back("LISTEN_FDS=" + std::to_string(sockets.size()));
    env_strings.push_back("LISTEN_FDNAMES=" + names);
    env_strings.push_back(std::string(kReadyVariable) + "=" + std::to_string(kFirstListenFd + sockets.size()));
    env_strings.push_back(std::string(kPidPrefix) + std::string(kPidDigits, '0'));
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    char* pid_digits = env_strings.back().data() + kPidPrefix.size();
    std::string arg0 = binary, arg1 = "--config", arg2 = config_path;
    char* argv[] = {arg0.data(), arg1.data(), arg2.data(), nullptr};

    std::unique_ptr<Upgrade> upgrade(new Upgrade());
    upgrade->done_ = std::move(done);
    // The SIGCHLD watcher first, so an exit right after the fork is seen.
    uv_signal_init(loop, &upgrade->sigchld_);
    upgrade->sigchld_.data = upgrade.get();
    uv_signal_start(&upgrade->sigchld_, on_sigchld, SIGCHLD);
    uv_timer_init(loop, &upgrade->timer_);
    upgrade->timer_.data = upgrade.get();
    uv_pipe_init(loop, &upgrade->ready_pipe_, 0);
    upgrade->ready_pipe_.data = upgrade.get();

    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);  // no handler may run in the child before exec
    pid_t pid = fork();
    if (pid == 0) exec_child(high, ready[1], pid_digits, argv, envp.data());
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    for (int fd : high) ::close(fd);
    high.clear();
    ::close(ready[1]);
    if (pid < 0) {
        ::close(ready[0]);
        errno = fork_errno;
        Error error = errno_error("fork");
        upgrade->finished_ = true;
        destroy(std::move(upgrade));
        return error;
    }
    upgrade->pid_ = pid;
    uv_pipe_open(&upgrade->ready_pipe_, ready[0]);
    uv_read_start(reinterpret_cast<uv_stream_t*>(&upgrade->ready_pipe_),
                  [](uv_handle_t* h, size_t, uv_buf_t* buf) {
                      auto* self = static_cast<Upgrade*>(h->data);
                      *buf = uv_buf_init(self->read_buffer_, sizeof self->read_buffer_);
                  },
                  on_read);
    uv_timer_start(&upgrade->timer_, on_timeout, kReadyTimeoutMs, 0);
    return upgrade;
}

Upgrade::~Upgrade() = default;

void Upgrade::destroy(std::unique_ptr<Upgrade> upgrade) {
    if (!upgrade) return;
    Upgrade* raw = upgrade.release();
    raw->finished_ = true;
    raw->done_ = nullptr;
    auto closed = [](uv_handle_t* h) {
        auto* self = static_cast<Upgrade*>(h->data);
        if (--self->open_handles_ == 0) delete self;
    };
    uv_close(reinterpret_cast<uv_handle_t*>(&raw->ready_pipe_), closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&raw->timer_), closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&raw->sigchld_), closed);
}

void Upgrade::finish(Result<pid_t> outcome) {
    if (finished_) return;
    finished_ = true;
    uv_timer_stop(&timer_);
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&ready_pipe_));
    if (done_) std::exchange(done_, nullptr)(std::move(outcome));
}

void Upgrade::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
    auto* self = static_cast<Upgrade*>(stream->data);
    if (nread > 0) {
        self->received_.append(buf->base, static_cast<std::size_t>(nread));
        if (self->received_.find("ready") != std::string::npos) self->finish(self->pid_);
        return;
    }
    if (nread < 0)  // EOF: the new process exited (or closed the pipe) without reporting ready
        self->finish(make_error(Errc::unavailable,
                                fmt::format("new process {} exited before it was listening (its log says why)", self->pid_)));
}

void Upgrade::on_timeout(uv_timer_t* timer) noexcept {
    auto* self = static_cast<Upgrade*>(timer->data);
    if (!self->reaped_) kill(self->pid_, SIGTERM);
    self->finish(make_error(Errc::timeout, fmt::format("new process {} not listening after {} ms; sent SIGTERM",
                                                       self->pid_, kReadyTimeoutMs)));
}

// Reaps the new process when it exits while this one still runs (a failed start).
void Upgrade::on_sigchld(uv_signal_t* handle, int /*signum*/) noexcept {
    auto* self = static_cast<Upgrade*>(handle->data);
    if (self->pid_ <= 0 || self->reaped_) return;
    int status = 0;
    if (waitpid(self->pid_, &status, WNOHANG) != self->pid_) return;
    log::Record("upgrade_child_exited").field("pid", static_cast<std::int64_t>(self->pid_))
        .field("status", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status))
        .emit(conf::LogLevel::warn);
    self->reaped_ = true;
}

int take_upgrade_ready_fd() {
    const char* text = getenv(kReadyVariable);
    int fd = text ? std::atoi(text) : -1;
    unsetenv(kReadyVariable);
    struct stat st {};
    if (fd < kFirstListenFd || fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) return -1;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

void send_upgrade_ready(int fd) {
    if (fd < 0) return;
    static constexpr char kReady[] = "ready\n";
    ssize_t written;
    do written = write(fd, kReady, sizeof kReady - 1);
    while (written < 0 && errno == EINTR);
    ::close(fd);
}

std::string own_binary_path() {
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) return "";
    std::string out(path, static_cast<std::size_t>(n));
    // Replaced on disk since the start: the upgrade runs the file now at that path.
    constexpr std::string_view kDeleted = " (deleted)";
    if (out.ends_with(kDeleted)) out.resize(out.size() - kDeleted.size());
    return out;
}

}  // namespace ocspgate::proxy::process
