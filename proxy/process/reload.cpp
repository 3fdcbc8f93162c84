#include "proxy/process/reload.h"

#include "conf/load.h"
#include "proxy/log/log.h"
#include "proxy/process/descriptors.h"

namespace ocspgate::proxy::process {
namespace {

struct LoadJob {
    uv_work_t work{};
    std::filesystem::path config_file;
    std::shared_ptr<const Runtime> previous;
    RuntimeReady done;
    Result<std::shared_ptr<const Runtime>> result = make_error(Errc::config, "not loaded");
};

Result<std::shared_ptr<const Runtime>> load_and_build(const std::filesystem::path& file, const Runtime* previous) {
    conf::LoadResult loaded = conf::load_file(file);
    // Logged from the thread pool: the logger is thread-safe, and a warning is about the file
    // whether or not the reload goes on to succeed.
    for (const auto& w : loaded.warnings)
        log::Record("config_warning").field("text", conf::format(w)).emit(conf::LogLevel::warn);
    if (!loaded.ok()) {
        std::string message;
        for (const auto& d : loaded.diagnostics) message += (message.empty() ? "" : "\n") + conf::format(d);
        return make_error(Errc::config, message);
    }
    // An unset max_connections fits the open-file limit raised at start, as it did then.
    settle_max_connections(loaded.config->server, open_file_limit(), false);
    return build_runtime(std::move(*loaded.config), previous);
}

void on_work(uv_work_t* work) noexcept {
    auto* job = static_cast<LoadJob*>(work->data);
    job->result = load_and_build(job->config_file, job->previous.get());
}

void on_done(uv_work_t* work, int /*status*/) noexcept {
    std::unique_ptr<LoadJob> job(static_cast<LoadJob*>(work->data));
    job->done(std::move(job->result));
}

}  // namespace

void load_runtime_async(uv_loop_t* loop, std::filesystem::path config_file, std::shared_ptr<const Runtime> previous,
                        RuntimeReady done) {
    auto job = std::make_unique<LoadJob>();
    job->config_file = std::move(config_file);
    job->previous = std::move(previous);
    job->done = std::move(done);
    job->work.data = job.get();
    if (int rc = uv_queue_work(loop, &job->work, on_work, on_done); rc != 0)
        return job->done(make_error(Errc::io, std::string("cannot start the reload: ") + uv_strerror(rc)));
    job.release();  // on_done frees it
}

}  // namespace ocspgate::proxy::process
