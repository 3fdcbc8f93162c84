#include "proxy/process/check_command.h"

#include <openssl/pem.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "conf/load.h"
#include "ocsp/asn1_time.h"
#include "ocsp/budget.h"
#include "ocsp/cert_status.h"
#include "ocsp/revocation_checker.h"
#include "ocsp/step_trace.h"
#include "proxy/process/check_response.h"
#include "tls/certificate.h"
#include "tls/ossl.h"

namespace ocspgate::proxy::process {
namespace {

using Json = nlohmann::ordered_json;

// The profile to run and what it takes from the listener.
struct Target {
    std::string profile_name;
    const ocsp::RevocationProfile* profile = nullptr;
    std::string client_ca;  // the listener's client_ca: issuers for a chain given short
    std::chrono::milliseconds budget{0};
};

int usage(const std::string& message) {
    std::cerr << "ocspgate check: " << message << '\n';
    return kCheckUsage;
}

// Every certificate in a PEM file, in file order; an empty stack when none parses.
tls::X509StackPtr read_pem_certificates(const std::string& path) {
    tls::X509StackPtr out(sk_X509_new_null());
    tls::BioPtr bio(BIO_new_file(path.c_str(), "r"));
    while (bio) {
        X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
        if (cert == nullptr) break;
        sk_X509_push(out.get(), cert);
    }
    tls::clear_errors();  // the read that ended the loop leaves "no start line"
    return out;
}

Result<Target> pick_target(const conf::Config& config, const CheckOptions& options) {
    Target target;
    target.budget = config.server.handshake_timeout;
    target.profile_name = options.profile;
    if (!options.listener.empty()) {
        const conf::Listener* found = nullptr;
        for (const auto& l : config.listeners)
            if (l.name == options.listener) found = &l;
        if (found == nullptr) return make_error(Errc::config, "no [[listener]] named " + options.listener);
        if (!found->revocation) return make_error(Errc::config, "listener " + found->name + " checks no revocation");
        target.profile_name = *found->revocation;
        target.client_ca = found->tls.client_ca.string();
    } else if (target.profile_name.empty()) {
        if (config.revocation.size() != 1)
            return make_error(Errc::config, "name a --listener or a --profile (the file has " +
                                                std::to_string(config.revocation.size()) + " profiles)");
        target.profile_name = config.revocation.begin()->first;
    }
    auto it = config.revocation.find(target.profile_name);
    if (it == config.revocation.end())
        return make_error(Errc::config, "no [revocation." + target.profile_name + "] profile");
    target.profile = &it->second;
    return target;
}

// The leaf, then --chain's certificates, then issuers found in the listener's client_ca until
// a self-signed one (at most 8 more): the chain a handshake would have verified.
Result<tls::X509StackPtr> build_chain(const CheckOptions& options, const std::string& client_ca) {
    tls::X509StackPtr leaf = read_pem_certificates(options.cert);
    if (sk_X509_num(leaf.get()) == 0) return make_error(Errc::config, "no certificate in " + options.cert);
    tls::X509StackPtr chain(sk_X509_new_null());
    X509_up_ref(sk_X509_value(leaf.get(), 0));
    sk_X509_push(chain.get(), sk_X509_value(leaf.get(), 0));
    if (!options.chain.empty()) {
        tls::X509StackPtr more = read_pem_certificates(options.chain);
        if (sk_X509_num(more.get()) == 0) return make_error(Errc::config, "no certificate in " + options.chain);
        while (sk_X509_num(more.get()) > 0) sk_X509_push(chain.get(), sk_X509_shift(more.get()));
    }
    tls::X509StackPtr anchors = client_ca.empty() ? tls::X509StackPtr(sk_X509_new_null())
                                                  : read_pem_certificates(client_ca);
    for (int added = 0; added < 8; ++added) {
        X509* last = sk_X509_value(chain.get(), sk_X509_num(chain.get()) - 1);
        if (X509_check_issued(last, last) == X509_V_OK) break;
        X509* issuer = nullptr;
        for (int i = 0; i < sk_X509_num(anchors.get()) && issuer == nullptr; ++i)
            if (X509_check_issued(sk_X509_value(anchors.get(), i), last) == X509_V_OK) issuer = sk_X509_value(anchors.get(), i);
        if (issuer == nullptr) break;
        X509_up_ref(issuer);
        sk_X509_push(chain.get(), issuer);
    }
    if (sk_X509_num(chain.get()) < 2)
        return make_error(Errc::config, "no issuer for " + options.cert + ": give it with --chain");
    return chain;
}

// Runs the profile's check on a loop of its own until the decision is in. The engine decides
// by `deadline`; a guard timer a second later ends the loop anyway (undetermined), so the
// command never waits forever.
ocsp::Decision decide(ocsp::RevocationChecker& checker, STACK_OF(X509) * chain, ocsp::Deadline deadline) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    std::optional<ocsp::Decision> decision;
    {
        ocsp::Mailbox mailbox(&loop);
        std::unique_ptr<ocsp::CheckHandle> handle;
        uv_timer_t guard;
        uv_timer_init(&loop, &guard);
        auto finish = [&] {
            handle.reset();  // cancels a check still running
            uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
            mailbox.close();  // aborts whatever lookup still runs, so the loop can end
        };
        handle = checker.check(mailbox, chain, deadline, [&](ocsp::Decision d) {
            decision = std::move(d);
            finish();
        });
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - ocsp::SteadyClock::now());
        guard.data = &finish;
        uv_timer_start(&guard, [](uv_timer_t* t) { (*static_cast<decltype(finish)*>(t->data))(); },
                       static_cast<std::uint64_t>(std::max<std::int64_t>(left.count(), 0)) + 1000, 0);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    uv_loop_close(&loop);
    if (decision) return std::move(*decision);
    ocsp::Decision none;
    none.status = cert_status::undetermined;
    none.detail = "no decision by the handshake's deadline";
    return none;
}

std::int64_t ms_between(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

// Every step of this check in the order they ended, with when that was after the check
// started: each OCSP attempt (the checker's ExchangeHistory: consecutive attempts, so the
// difference is the later one's time), and each CRL file read, download and judgement (the
// CRL trace, each with its own duration).
Json steps_of(ocsp::RevocationChecker& checker, const ocsp::StepTrace& crl_trace,
              std::chrono::steady_clock::time_point started) {
    std::vector<std::pair<std::chrono::steady_clock::time_point, Json>> timed;
    for (const auto& a : checker.stats().recent.attempts())
        timed.emplace_back(a.at, Json{{"method", "ocsp"},
                                      {"responder", a.responder},
                                      {"after_ms", ms_between(started, a.at)},
                                      {"outcome", a.failure.empty() ? std::string("answered") : a.failure}});
    for (const auto& step : crl_trace.steps()) {
        Json one{{"method", "crl"}, {"action", step.action}, {"source", step.source}, {"outcome", step.outcome}};
        if (step.http_status) one["http_status"] = *step.http_status;
        if (step.bytes) one["bytes"] = *step.bytes;
        one["took_ms"] = ms_between(step.started, step.ended);
        one["after_ms"] = ms_between(started, step.ended);
        timed.emplace_back(step.ended, std::move(one));
    }
    std::stable_sort(timed.begin(), timed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    Json steps = Json::array();
    for (auto& [at, step] : timed) steps.push_back(std::move(step));
    return steps;
}

// Every CRL the CRL method judged a certificate with: used, not_used (and why) or
// not_deciding, with the CRL's own fields.
Json crls_of(const ocsp::StepTrace& crl_trace) {
    Json crls = Json::array();
    for (const auto& c : crl_trace.crls()) {
        Json one{{"source", c.source}, {"use", c.use}};
        if (!c.reason.empty()) one["reason"] = c.reason;
        one["serial"] = c.serial;
        one["issuer"] = c.issuer;
        one["this_update"] = ocsp::to_iso8601(c.this_update);
        if (c.next_update) one["next_update"] = ocsp::to_iso8601(*c.next_update);
        if (c.number) one["crl_number"] = *c.number;
        one["delta"] = c.delta;
        crls.push_back(std::move(one));
    }
    return crls;
}

Json describe(const Target& target, X509* leaf, const ocsp::Decision& d, ocsp::RevocationChecker& checker) {
    Json out;
    out["verdict"] = to_string(d.verdict);
    out["revocation"] = d.status;
    out["profile"] = target.profile_name;
    out["subject"] = tls::subject_of(leaf);
    out["serial"] = tls::serial_hex_of(leaf);
    out["revocation_method"] = d.method;
    out["revocation_source"] = d.source;
    out["revocation_latency_us"] = d.latency.count();
    if (d.verdict == ChainVerdict::revoked) {
        const char* reason = ocsp::crl_reason_name(d.revoked.reason);
        out["revocation_reason"] = reason ? std::string(reason) : std::to_string(d.revoked.reason);
        if (d.revoked.time) out["revocation_time"] = ocsp::to_iso8601(*d.revoked.time);
    }
    if (!d.detail.empty()) out["revocation_detail"] = d.detail;
    if (!d.serial.empty()) out["revocation_serial"] = d.serial;
    if (d.answer) add_response_fields(out, *d.answer);  // the deciding OCSP response's own fields
    // Every responder asked, with what each attempt came to (the check's own history).
    Json tried = Json::array();
    auto now = std::chrono::steady_clock::now();
    for (const auto& [url, recent] : checker.stats().recent.responders(now, std::chrono::hours(1))) {
        Json one{{"responder", url}, {"answered", recent.answered}, {"failed", recent.failed}};
        for (const auto& [kind, count] : recent.failures) one["failures"][kind] = count;
        tried.push_back(std::move(one));
    }
    out["responders"] = std::move(tried);
    Json problems = Json::array();
    for (const auto& p : d.config_problems)
        problems.push_back({{"responder", p.responder}, {"kind", p.kind}, {"message", p.message}});
    if (!problems.empty()) out["config_problems"] = std::move(problems);
    return out;
}

std::string text_of(const Json& value) { return value.is_string() ? value.get<std::string>() : value.dump(); }

// "step: ocsp URL OUTCOME after N ms", or for the CRL method
// "step: crl download URL OUTCOME http_status=200 bytes=612 in 3 ms after 5 ms".
void print_step(const Json& step) {
    std::cout << "step: " << text_of(step["method"]);
    if (step.contains("action")) std::cout << ' ' << text_of(step["action"]) << ' ' << text_of(step["source"]);
    if (step.contains("responder")) std::cout << ' ' << text_of(step["responder"]);
    std::cout << ' ' << text_of(step["outcome"]);
    for (const char* key : {"http_status", "bytes"})
        if (step.contains(key)) std::cout << ' ' << key << '=' << step[key];
    if (step.contains("took_ms")) std::cout << " in " << step["took_ms"] << " ms";
    std::cout << " after " << step["after_ms"] << " ms\n";
}

// "crl: SOURCE used|not_used|not_deciding [(reason)] serial=... issuer=... this_update=... ..."
void print_crl(const Json& crl) {
    std::cout << "crl: " << text_of(crl["source"]) << ' ' << text_of(crl["use"]);
    if (crl.contains("reason")) std::cout << " (" << text_of(crl["reason"]) << ')';
    for (const char* key : {"serial", "issuer", "this_update", "next_update", "crl_number", "delta"})
        if (crl.contains(key)) std::cout << ' ' << key << '=' << text_of(crl[key]);
    std::cout << '\n';
}

void print_text(const Json& out) {
    for (const auto& [key, value] : out.items()) {
        if (key == "steps") {
            for (const auto& step : value) print_step(step);
        } else if (key == "crls") {
            for (const auto& crl : value) print_crl(crl);
        } else if (key == "responders") {
            for (const auto& r : value) {
                std::cout << "responder: " << r["responder"].get<std::string>() << " answered="
                          << r["answered"] << " failed=" << r["failed"];
                if (r.contains("failures"))
                    for (const auto& [kind, count] : r["failures"].items()) std::cout << ' ' << kind << '=' << count;
                std::cout << '\n';
            }
        } else if (key == "config_problems") {
            for (const auto& p : value)
                std::cout << "config_problem: " << p["responder"].get<std::string>() << ' '
                          << p["kind"].get<std::string>() << ": " << p["message"].get<std::string>() << '\n';
        } else {
            std::cout << key << ": " << (value.is_string() ? value.get<std::string>() : value.dump()) << '\n';
        }
    }
}

int exit_code_for(const std::string& verdict) {
    if (verdict == to_string(ChainVerdict::accept)) return kCheckAccept;
    if (verdict == to_string(ChainVerdict::revoked)) return kCheckRevoked;
    return kCheckNoAnswer;
}

int print(const Json& out, bool json) {
    if (json)
        std::cout << out.dump() << '\n';
    else
        print_text(out);
    return exit_code_for(out["verdict"].get<std::string>());
}

// A saved response (RFC 6960 responses are a few KiB; 1 MiB is far beyond any real one).
Result<std::string> read_response(const std::string& path) {
    constexpr std::size_t kMaxResponseBytes = 1024 * 1024;
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(Errc::io, "cannot read " + path);
    std::string der;
    der.resize(kMaxResponseBytes + 1);
    in.read(der.data(), static_cast<std::streamsize>(der.size()));
    der.resize(static_cast<std::size_t>(in.gcount()));
    if (der.empty() || der.size() > kMaxResponseBytes)
        return make_error(Errc::io, path + ": empty or larger than 1 MiB");
    return der;
}

// Offline: --response judged against --cert and its issuer; a config is optional (its profile
// gives clock_skew, max_age and max_response_age, else the defaults).
int check_saved_response(const CheckOptions& options, const conf::Config* config) {
    std::optional<Target> target;
    if (config != nullptr) {
        auto picked = pick_target(*config, options);
        if (!picked) return usage(picked.error().message);
        target = *picked;
    }
    auto chain = build_chain(options, target ? target->client_ca : std::string());
    if (!chain) return usage(chain.error().message);
    auto der = read_response(options.response);
    if (!der) return usage(der.error().message);
    ocsp::OcspSettings defaults;
    const ocsp::OcspSettings& settings = target ? target->profile->ocsp : defaults;
    Json out = judge_saved_response(*der, sk_X509_value(chain->get(), 0), sk_X509_value(chain->get(), 1), settings);
    if (target) out["profile"] = target->profile_name;
    out["revocation_source"] = options.response;
    return print(out, options.json);
}

}  // namespace

int run_check_command(const CheckOptions& options) {
    if (options.cert.empty()) return usage("--cert is required");
    if (!options.listener.empty() && !options.profile.empty()) return usage("--listener and --profile exclude each other");
    if (options.config_path.empty()) {
        if (!options.response.empty()) return check_saved_response(options, nullptr);
        return usage("--config is required (or --response to judge a saved response)");
    }
    conf::LoadResult loaded = conf::load_file(options.config_path);
    for (const auto& d : loaded.diagnostics) std::cerr << conf::format(d) << '\n';
    if (!loaded.ok()) return kCheckUsage;
    if (!options.response.empty()) return check_saved_response(options, &*loaded.config);
    auto target = pick_target(*loaded.config, options);
    if (!target) return usage(target.error().message);
    auto chain = build_chain(options, target->client_ca);
    if (!chain) return usage(chain.error().message);
    // The CRL method's steps are recorded from its file reads on, so the clock starts here.
    auto started = std::chrono::steady_clock::now();
    auto crl_trace = std::make_shared<ocsp::StepTrace>();
    auto checker = ocsp::RevocationChecker::create(*target->profile, nullptr, nullptr, crl_trace);
    if (!checker) return usage("profile " + target->profile_name + ": " + checker.error().message);
    // The handshake's budget less the alert's reserve, as a connection gives it (proxy/core).
    auto deadline = ocsp::SteadyClock::now() + target->budget - ocsp::alert_reserve(target->budget);
    ocsp::Decision decision = decide(**checker, chain->get(), deadline);
    Json out = describe(*target, sk_X509_value(chain->get(), 0), decision, **checker);
    out["steps"] = steps_of(**checker, *crl_trace, started);
    if (auto crls = crls_of(*crl_trace); !crls.empty()) out["crls"] = std::move(crls);
    if (auto dropped = crl_trace->dropped(); dropped > 0) out["steps_dropped"] = dropped;
    return print(out, options.json);
}

}  // namespace ocspgate::proxy::process
