// ocspgate-load: a bounded TLS load generator for ocspgate and its peers (see perf/README.md).
//
//   handshake  full mTLS handshakes (no resumption), rotating over a pool of client certificates
//   bulk       K long connections pushing data through an echo backend, MB/s each way
//   idle       K connections held open (optionally from many 127.1.x.y sources), server RSS each
//   sip        K long connections, each sending SIP REGISTER/OPTIONS and waiting for the 200 OK
//   mint       sign N client certificates for cold-cache runs (mint.h); no load
#include <glob.h>
#include <signal.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "perf/load/mint.h"
#include "perf/load/runner.h"

namespace {

using ocspgate::perf::ClientIdentity;
using ocspgate::perf::ClientOptions;
using ocspgate::perf::Mode;
using ocspgate::perf::RunOptions;
using ocspgate::perf::RunStats;
using ocspgate::perf::SipMethod;

std::vector<std::string> expand_globs(const std::vector<std::string>& patterns) {
    std::vector<std::string> files;
    for (const auto& pattern : patterns) {
        glob_t g{};
        if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
            for (std::size_t i = 0; i < g.gl_pathc; ++i) files.emplace_back(g.gl_pathv[i]);
        }
        globfree(&g);
    }
    std::sort(files.begin(), files.end());
    return files;
}

// "x/client-extra-01-chain.pem" and "x/client-extra-01.pem" -> "x/client-extra-01.key".
std::string key_for(const std::string& chain_file) {
    for (const char* suffix : {"-chain.pem", "-combined.pem", ".pem"}) {
        const std::string s{suffix};
        if (chain_file.size() > s.size() && chain_file.compare(chain_file.size() - s.size(), s.size(), s) == 0)
            return chain_file.substr(0, chain_file.size() - s.size()) + ".key";
    }
    return chain_file + ".key";
}

long rss_kib(int pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    return -1;
}

void raise_fd_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

nlohmann::json latency_json(const std::vector<double>& ms) {
    return {{"p50_ms", percentile(ms, 50)}, {"p90_ms", percentile(ms, 90)}, {"p99_ms", percentile(ms, 99)},
            {"max_ms", ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end())}};
}

struct IdleProbe {
    int server_pid = 0;
    long rss_before_kib = -1;
    long rss_up_kib = -1;
};

nlohmann::json to_json(const RunOptions& o, const RunStats& s, const IdleProbe& probe) {
    nlohmann::json j;
    j["mode"] = o.mode == Mode::handshake ? "handshake" : o.mode == Mode::bulk ? "bulk" : o.mode == Mode::sip ? "sip" : "idle";
    j["started"] = s.started;
    j["completed"] = s.completed;
    std::uint64_t failed = 0;
    for (const auto& [reason, n] : s.failures) failed += n;
    j["failed"] = failed;
    j["failures"] = s.failures;
    j["seconds"] = s.measured_s;
    j["handshake_latency"] = latency_json(s.handshake_ms);
    j["connection_latency"] = latency_json(s.connection_ms);
    if (o.mode == Mode::handshake) j["handshakes_per_s"] = s.measured_s > 0 ? s.completed / s.measured_s : 0;
    if (o.mode == Mode::bulk) {
        const double per = s.measured_s * 1e6 * std::max<std::uint64_t>(s.completed, 1);
        j["connections"] = s.completed;
        j["sent_mb_per_s_total"] = s.bytes_sent / (s.measured_s * 1e6);
        j["received_mb_per_s_total"] = s.bytes_received / (s.measured_s * 1e6);
        j["sent_mb_per_s_each"] = s.bytes_sent / per;
        j["received_mb_per_s_each"] = s.bytes_received / per;
    }
    if (o.mode == Mode::sip) {
        j["connections"] = o.concurrency;
        j["transactions"] = s.transactions;
        j["transactions_per_s"] = s.measured_s > 0 ? s.transactions / s.measured_s : 0;
        j["transaction_latency"] = latency_json(s.transaction_ms);
    }
    if (o.mode == Mode::idle) {
        j["all_up_s"] = s.all_up_s;
        j["held"] = s.held;
        if (probe.server_pid != 0) {
            j["server_rss_before_kib"] = probe.rss_before_kib;
            j["server_rss_up_kib"] = probe.rss_up_kib;
            j["server_rss_per_connection_kib"] =
                s.completed > 0 ? static_cast<double>(probe.rss_up_kib - probe.rss_before_kib) / s.completed : 0;
        }
    }
    return j;
}

void print_human(const nlohmann::json& j) {
    std::printf("mode %s: %llu started, %llu completed in %.2f s\n", j["mode"].get<std::string>().c_str(),
                j["started"].get<unsigned long long>(), j["completed"].get<unsigned long long>(),
                j["seconds"].get<double>());
    if (j.contains("handshakes_per_s")) std::printf("handshakes/s: %.1f\n", j["handshakes_per_s"].get<double>());
    if (j.contains("transactions_per_s"))
        std::printf("sip over %d connections: %llu transactions, %.1f/s\n", j["connections"].get<int>(),
                    j["transactions"].get<unsigned long long>(), j["transactions_per_s"].get<double>());
    for (const char* key : {"handshake_latency", "connection_latency", "transaction_latency"}) {
        if (!j.contains(key)) continue;
        const auto& l = j[key];
        std::printf("%s ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", key, l["p50_ms"].get<double>(),
                    l["p90_ms"].get<double>(), l["p99_ms"].get<double>(), l["max_ms"].get<double>());
    }
    if (j.contains("sent_mb_per_s_total"))
        std::printf("bulk over %llu connections: sent %.1f MB/s, received %.1f MB/s (each: %.1f / %.1f)\n",
                    j["connections"].get<unsigned long long>(), j["sent_mb_per_s_total"].get<double>(),
                    j["received_mb_per_s_total"].get<double>(), j["sent_mb_per_s_each"].get<double>(),
                    j["received_mb_per_s_each"].get<double>());
    if (j.contains("all_up_s")) std::printf("all up after %.2f s, %d held\n", j["all_up_s"].get<double>(), j["held"].get<int>());
    if (j.contains("server_rss_per_connection_kib"))
        std::printf("server RSS %ld -> %ld KiB: %.1f KiB per connection\n", j["server_rss_before_kib"].get<long>(),
                    j["server_rss_up_kib"].get<long>(), j["server_rss_per_connection_kib"].get<double>());
    for (const auto& [reason, n] : j["failures"].items())
        std::printf("failed: %llu × %s\n", n.get<unsigned long long>(), reason.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"ocspgate-load: bounded TLS load (handshake | bulk | idle | sip | mint); see perf/README.md"};
    app.require_subcommand(1);
    RunOptions o;
    ClientOptions tls;
    std::vector<std::string> cert_patterns;
    std::string key_file;
    std::string tls_version = "1.3";
    bool json = false;
    IdleProbe probe;
    std::string minted_dir;
    std::string sip_method = "mixed";
    std::string trace_file;
    ocspgate::perf::MintOptions mint_options;

    auto add_common = [&](CLI::App* sub) {
        sub->add_option("--host", o.host, "Server address (numeric IPv4)")->capture_default_str();
        sub->add_option("--port", o.port, "Server port")->required();
        auto* certs = sub->add_option("--certs", cert_patterns,
                                      "Client certificate chain files or globs (cert first); rotated per connection");
        sub->add_option("--minted", minted_dir,
                        "A pool written by `mint` (one certificate per connection, rotated), instead of --certs")
            ->excludes(certs);
        sub->add_option("--key", key_file, "One key for every cert (default: NAME.key beside NAME[-chain].pem)");
        sub->add_option("--ca", tls.ca_file, "Verify the server against this CA file (default: no verification)");
        sub->add_option("--tls", tls_version, "TLS version: 1.2 or 1.3")->check(CLI::IsMember({"1.2", "1.3"}))
            ->capture_default_str();
        sub->add_option("--duration", o.duration_s, "Seconds (handshake/bulk: run; idle: hold)")
            ->check(CLI::Range(0.1, 3600.0))->capture_default_str();
        sub->add_option("--timeout", o.connection_timeout_s, "Seconds one connection may take to come up")
            ->check(CLI::Range(0.1, 120.0))->capture_default_str();
        sub->add_flag("--json", json, "Print the result as JSON");
    };
    auto* handshake = app.add_subcommand("handshake", "Full mTLS handshakes, one connection each");
    add_common(handshake);
    handshake->add_option("--concurrency", o.concurrency, "Connections in flight")
        ->check(CLI::Range(1, 100000))->capture_default_str();
    handshake->add_option("--count", o.count, "Stop after this many connections (0: --duration only)");
    handshake->add_option("--trace", trace_file,
                          "Also write one line per completed connection: its start (Unix seconds) and "
                          "connection latency (ms), to line up with the server's log");
    handshake->add_option("--rate", o.rate,
                          "At most this many connections started per second (0: as many as --concurrency "
                          "allows); a light probe beside another load")
        ->check(CLI::Range(0.0, 1e6))->capture_default_str();
    handshake->add_option("--message-bytes", o.message_bytes,
                          "Echo round trip after the handshake (0: close at once; with TLS 1.3 the client "
                          "then never learns whether the server accepted its certificate)")
        ->capture_default_str();
    auto* bulk = app.add_subcommand("bulk", "K long connections through an echo backend");
    add_common(bulk);
    bulk->add_option("--connections", o.concurrency, "K")->check(CLI::Range(1, 100000))->capture_default_str();
    bulk->add_option("--chunk", o.bulk_chunk_bytes, "Bytes per write")->capture_default_str();
    auto* idle = app.add_subcommand("idle", "Open and hold K connections");
    add_common(idle);
    idle->add_option("--connections", o.count, "K")->check(CLI::Range(1, 1000000))->required();
    idle->add_option("--concurrency", o.concurrency, "Handshakes in flight while opening")
        ->capture_default_str();
    idle->add_option("--sources", o.source_addresses, "Spread over this many 127.1.x.y source addresses")
        ->check(CLI::Range(1, 60000))->capture_default_str();
    idle->add_option("--open-timeout", o.open_timeout_s, "Seconds allowed to open all K connections")
        ->check(CLI::Range(1.0, 3600.0))->capture_default_str();
    idle->add_option("--server-pid", probe.server_pid, "Report this process's RSS per connection");
    auto* sip = app.add_subcommand("sip", "K long connections, each a SIP UA doing one transaction at a time");
    add_common(sip);
    sip->add_option("--connections", o.concurrency, "K")->check(CLI::Range(1, 100000))->capture_default_str();
    sip->add_option("--method", sip_method, "REGISTER, OPTIONS, or both alternating")
        ->check(CLI::IsMember({"register", "options", "mixed"}))->capture_default_str();
    sip->add_flag("--plain", o.plain, "Plain TCP, no TLS: to measure the SIP backend itself");
    sip->add_option("--open-timeout", o.open_timeout_s, "Seconds allowed to open all K connections")
        ->check(CLI::Range(1.0, 3600.0))->capture_default_str();
    auto* mint = app.add_subcommand("mint", "Sign N client certificates for cold-cache runs (no load)");
    mint->add_option("--ca", mint_options.ca_file, "Issuing CA certificate (PEM)")->required();
    mint->add_option("--ca-key", mint_options.ca_key_file, "Its private key (PEM)")->required();
    mint->add_option("--count", mint_options.count, "N")->check(CLI::Range(1, 1000000))->capture_default_str();
    mint->add_option("--days", mint_options.days, "Validity")->check(CLI::Range(1, 3650))->capture_default_str();
    mint->add_option("--out", mint_options.out_dir, "Existing folder for minted-*.pem/.key/.txt")->required();
    CLI11_PARSE(app, argc, argv);

    if (app.got_subcommand(mint)) {
        std::string error;
        const auto t0 = ocspgate::perf::Clock::now();
        if (!ocspgate::perf::mint_pool(mint_options, error)) {
            std::fprintf(stderr, "ocspgate-load: %s\n", error.c_str());
            return 2;
        }
        std::fprintf(stderr, "ocspgate-load: minted %d certificates in %.2f s\n", mint_options.count,
                     std::chrono::duration<double>(ocspgate::perf::Clock::now() - t0).count());
        return 0;
    }
    o.mode = app.got_subcommand(handshake) ? Mode::handshake
             : app.got_subcommand(bulk)    ? Mode::bulk
             : app.got_subcommand(sip)     ? Mode::sip
                                           : Mode::idle;
    o.sip_method = sip_method == "register" ? SipMethod::register_
                   : sip_method == "options" ? SipMethod::options
                                             : SipMethod::mixed;
    tls.tls_version = tls_version == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION;
    raise_fd_limit();
    ::signal(SIGPIPE, SIG_IGN);  // a server that resets must show up as a failure, not kill us

    std::vector<ClientIdentity> identities;
    if (!minted_dir.empty()) {
        std::string error;
        identities = ocspgate::perf::load_minted_pool(tls, minted_dir, error);
        if (identities.empty()) {
            std::fprintf(stderr, "ocspgate-load: %s\n", error.c_str());
            return 2;
        }
    }
    if (o.plain) {  // no handshake: one context without a certificate keeps the runner's rotation simple
        std::string error;
        ClientIdentity plain;
        plain.ctx = ocspgate::perf::make_client_context(tls, error);
        plain.chain_file = "plain";
        identities.push_back(std::move(plain));
    }
    for (const auto& file : expand_globs(cert_patterns)) {
        std::string error;
        auto ctx = ocspgate::perf::make_client_context(tls, file, key_file.empty() ? key_for(file) : key_file, error);
        if (!ctx) {
            std::fprintf(stderr, "ocspgate-load: %s\n", error.c_str());
            return 2;
        }
        ClientIdentity id;
        id.ctx = std::move(ctx);
        id.chain_file = file;
        identities.push_back(std::move(id));
    }
    if (identities.empty()) {
        std::fprintf(stderr, "ocspgate-load: --certs matched no file (or neither --certs nor --minted given)\n");
        return 2;
    }

    if (probe.server_pid != 0) probe.rss_before_kib = rss_kib(probe.server_pid);
    ocspgate::perf::Runner runner{o, identities};
    const RunStats stats = runner.run(
        [](void* arg, double seconds) {
            auto* p = static_cast<IdleProbe*>(arg);
            if (p->server_pid != 0) p->rss_up_kib = rss_kib(p->server_pid);
            std::fprintf(stderr, "ocspgate-load: all connections up after %.2f s\n", seconds);
        },
        &probe);
    if (!trace_file.empty()) {
        std::FILE* f = std::fopen(trace_file.c_str(), "w");
        if (f == nullptr) return std::fprintf(stderr, "ocspgate-load: cannot write %s\n", trace_file.c_str()), 1;
        for (std::size_t i = 0; i < stats.started_unix_s.size(); ++i)
            std::fprintf(f, "%.6f %.3f\n", stats.started_unix_s[i], stats.connection_ms[i]);
        std::fclose(f);
    }
    const nlohmann::json result = to_json(o, stats, probe);
    if (json) {
        std::cout << result.dump(2) << '\n';
    } else {
        print_human(result);
    }
    return stats.completed > 0 ? 0 : 1;
}
