// ocspgate: TLS front for SIP and LDAP that enforces certificate revocation inline.
#include <CLI/CLI.hpp>
#include <netdb.h>

#include <cstdio>
#include <iostream>

#include "conf/admin_address.h"
#include "conf/key_files.h"
#include "conf/load.h"
#include "proxy/log/log.h"
#include "proxy/process/check_command.h"
#include "proxy/process/descriptors.h"
#include "proxy/process/server.h"
#include "proxy/process/version.h"
#include "proxy/admin/status_command.h"

namespace {

using namespace ocspgate;

// Exit codes, one table for every command (also in --help, README "Exit codes" and
// docs/ocspgate.8 EXIT STATUS).
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // the command ran and failed: invalid config, cannot start, no answer
constexpr int kExitUsage = 2;   // the command line (or the file it names) cannot be used

constexpr const char* kExitCodesHelp =
    "Exit codes (every command):\n"
    "  0  done: clean shutdown (run), valid configuration (--check-config), address printed\n"
    "     (--print-admin-address), status printed (status)\n"
    "  1  failed: invalid configuration or start-up failed, e.g. a listen address in use (run,\n"
    "     --check-config); no [admin] table (--print-admin-address); admin endpoint not\n"
    "     reachable or bad answer (status)\n"
    "  2  usage: bad command line (unknown option, --config missing, bad --admin); the config\n"
    "     file cannot be read (--print-admin-address, status)\n"
    "check answers with the verdict: 0 accept, 1 revoked, 2 unknown or undetermined (no answer),\n"
    "  3 usage: bad command line, invalid config, no such listener/profile, unreadable --cert\n";

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

// Backends given by host name, resolved once now: loading never touches the network, and
// --check-config runs on no event loop, so a blocking lookup is fine here. A name that does not
// resolve is a warning, not an error: it may resolve where and when ocspgate runs.
void warn_unresolved_backends(const std::string& path, const conf::Config& config) {
    for (std::size_t i = 0; i < config.listeners.size(); ++i) {
        const conf::Address& backend = config.listeners[i].backend;
        if (backend.host.empty()) continue;
        addrinfo hints{};
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* found = nullptr;
        int rc = ::getaddrinfo(backend.host.c_str(), nullptr, &hints, &found);
        if (found != nullptr) ::freeaddrinfo(found);
        if (rc == 0) continue;
        conf::Diagnostic warning{.file = path,
                                 .message = "listener[" + std::to_string(i) + "].backend: \"" + backend.host +
                                            "\" does not resolve here now (" + ::gai_strerror(rc) +
                                            "); connections to this listener fail until it does",
                                 .severity = conf::Severity::warning};
        std::cerr << conf::format(warning) << '\n';
    }
}

int check_config(const std::string& path) {
    conf::LoadResult result = conf::load_file(path);
    print_diagnostics(result);
    if (!result.ok()) return kExitFailed;
    warn_unresolved_backends(path, *result.config);
    std::cout << path << ": configuration is valid\n";
    return kExitOk;
}

// For the container's health probe: the address to ask, from the same file ocspgate runs with.
int print_admin_address(const std::string& path) {
    auto address = conf::read_admin_address(path);
    if (!address) {
        std::cerr << "ocspgate: " << address.error().message << '\n';
        return kExitUsage;
    }
    if (!*address) {
        std::cerr << "ocspgate: " << path << " has no [admin] table: the admin endpoint is off\n";
        return kExitFailed;
    }
    std::cout << **address << '\n';
    return kExitOk;
}

int serve(const std::string& path) {
    conf::LoadResult loaded = conf::load_file(path);
    print_diagnostics(loaded);
    if (!loaded.ok()) return kExitFailed;
    conf::Config config = std::move(*loaded.config);
    proxy::log::init(config.server.log_format, config.server.log_level);
    proxy::process::settle_max_connections(config.server, proxy::process::raise_open_file_limit(), true);
    warn_about_loose_key_files(config);
    auto server = proxy::process::Server::create(std::move(config));
    if (!server) {
        proxy::log::Record("startup_failed").field("error", server.error().message).emit(conf::LogLevel::error);
        proxy::log::shutdown();
        std::cerr << "ocspgate: " << server.error().message << '\n';
        return kExitFailed;
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
    app.add_option("-c,--config", config_path, "configuration file (TOML); required except for `status` and `check --response`");
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
    // `ocspgate check`: what the revocation profile decides about one certificate (check_command.h).
    proxy::process::CheckOptions check_options;
    CLI::App* check = app.add_subcommand("check", "run a listener's revocation profile on one certificate and "
                                                  "print the verdict (exit 0 accept, 1 revoked, 2 no answer, 3 usage)");
    check->add_option("--listener", check_options.listener, "the [[listener]] whose profile and client_ca to use");
    check->add_option("--profile", check_options.profile, "a [revocation.NAME] profile instead of a listener's");
    check->add_option("--cert", check_options.cert, "the certificate to check (PEM)")->required();
    check->add_option("--chain,--issuer", check_options.chain,
                      "its issuer and further CAs (PEM); default: found in the listener's client_ca");
    check->add_option("--response", check_options.response,
                      "judge this saved OCSP response (DER) offline instead of asking; --config optional");
    check->add_flag("--json", check_options.json, "print one JSON object");
    check->fallthrough();  // --config before or after `check`
    app.footer(kExitCodesHelp);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version end here with 0; CLI11's own codes (106, 109, ...) become 2.
        const int code = app.exit(e);
        if (code == 0) return kExitOk;
        return check->parsed() ? proxy::process::kCheckUsage : kExitUsage;
    }
    if (check->parsed()) {
        check_options.config_path = config_path;
        return proxy::process::run_check_command(check_options);
    }
    if (status->parsed()) return proxy::admin::run_status_command(admin_address, config_path, raw_json);
    if (config_path.empty()) {
        std::cerr << "ocspgate: --config is required\nRun with --help for more information.\n";
        return kExitUsage;
    }
    if (print_admin) return print_admin_address(config_path);
    return only_check ? check_config(config_path) : serve(config_path);
}
