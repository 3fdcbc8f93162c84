// ocspgate: TLS front for SIP and LDAP that enforces certificate revocation inline.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "conf/admin_address.h"
#include "conf/key_files.h"
#include "conf/load.h"
#include "proxy/log/log.h"
#include "proxy/process/server.h"
#include "proxy/process/version.h"
#include "proxy/admin/status_command.h"

namespace {

using namespace ocspgate;

// Two descriptors per connection plus listeners, responders and logs.
void raise_fd_limit(std::uint32_t max_connections) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    rlim_t wanted = static_cast<rlim_t>(max_connections) * 2 + 256;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    if (limit.rlim_cur < wanted)
        proxy::log::Record("warning")
            .field("text", "open-file limit too low for max_connections; raise it (ulimit -n / LimitNOFILE=)")
            .field("limit", static_cast<std::uint64_t>(limit.rlim_cur))
            .field("needed", static_cast<std::uint64_t>(wanted))
            .emit(conf::LogLevel::warn);
}

// A secure-defaults warning, not an error: a key file the group or everyone may read.
void warn_about_loose_key_files(const conf::Config& config) {
    for (const auto& loose : conf::find_loose_key_files(config)) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(loose.mode));
        proxy::log::Record("key_file_permissions")
            .field("text", "private key file is readable by group or others; chmod 600 (or 640 with a dedicated group)")
            .field("key", loose.key)
            .field("file", loose.path.string())
            .field("mode", mode)
            .emit(conf::LogLevel::warn);
    }
}

// Errors, then warnings, on stderr (before logging starts, so whatever the log settings).
void print_diagnostics(const conf::LoadResult& result) {
    for (const auto& d : result.diagnostics) std::cerr << conf::format(d) << '\n';
    for (const auto& w : result.warnings) std::cerr << conf::format(w) << '\n';
}

int check_config(const std::string& path) {
    conf::LoadResult result = conf::load_file(path);
    print_diagnostics(result);
    if (!result.ok()) return 1;
    std::cout << path << ": configuration is valid\n";
    return 0;
}

// For the container's health probe: the address to ask, from the same file ocspgate runs with.
int print_admin_address(const std::string& path) {
    auto address = conf::read_admin_address(path);
    if (!address) {
        std::cerr << "ocspgate: " << address.error().message << '\n';
        return 2;
    }
    if (!*address) {
        std::cerr << "ocspgate: " << path << " has no [admin] table: the admin endpoint is off\n";
        return 1;
    }
    std::cout << **address << '\n';
    return 0;
}

int serve(const std::string& path) {
    conf::LoadResult loaded = conf::load_file(path);
    print_diagnostics(loaded);
    if (!loaded.ok()) return 1;
    conf::Config config = std::move(*loaded.config);
    proxy::log::init(config.server.log_format, config.server.log_level);
    raise_fd_limit(config.server.max_connections);
    warn_about_loose_key_files(config);
    auto server = proxy::process::Server::create(std::move(config));
    if (!server) {
        proxy::log::Record("startup_failed").field("error", server.error().message).emit(conf::LogLevel::error);
        proxy::log::shutdown();
        std::cerr << "ocspgate: " << server.error().message << '\n';
        return 1;
    }
    int code = (*server)->run();
    server.value().reset();
    proxy::log::shutdown();
    return code;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"ocspgate: TLS front for SIP and LDAP with inline OCSP/CRL revocation checks"};
    std::string config_path;
    bool only_check = false;
    app.add_option("-c,--config", config_path, "configuration file (TOML); required except for `status`");
    app.add_flag("--check-config", only_check, "validate the configuration and exit (0 when valid)");
    bool print_admin = false;
    app.add_flag("--print-admin-address", print_admin,
                 "print the admin endpoint's address from --config's [admin] table and exit (1: no [admin])");
    app.set_version_flag("-V,--version", proxy::process::version_text(OCSPGATE_VERSION));
    // `ocspgate status`: tables from a running ocspgate's /status (proxy/admin/status_command.h).
    std::string admin_address;
    bool raw_json = false;
    CLI::App* status = app.add_subcommand("status", "show certificates, revocation profiles and listeners of a "
                                                    "running ocspgate (from its admin endpoint's /status)");
    status->add_option("--admin", admin_address,
                       "the admin endpoint, HOST:PORT (default: [admin] listen of --config, else 127.0.0.1:9901)");
    status->add_flag("--json", raw_json, "print the /status JSON as it is");
    status->fallthrough();  // `ocspgate status --config FILE` works as well as `ocspgate --config FILE status`
    CLI11_PARSE(app, argc, argv);
    if (status->parsed()) return proxy::admin::run_status_command(admin_address, config_path, raw_json);
    if (config_path.empty()) {
        std::cerr << "--config is required\nRun with --help for more information.\n";
        return 106;  // CLI11's RequiredError, as before
    }
    if (print_admin) return print_admin_address(config_path);
    return only_check ? check_config(config_path) : serve(config_path);
}
