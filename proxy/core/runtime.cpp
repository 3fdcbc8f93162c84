#include "proxy/core/runtime.h"

#include "ocsp/factory.h"
#include "proxy/core/socket_address.h"
#include "tls/certificate.h"
#include "tls/context.h"

namespace ocspgate::proxy {
namespace {

tls::ProtocolSettings protocol_settings(const conf::TlsSettings& t) {
    tls::ProtocolSettings p;
    switch (t.min_version) {
        case conf::TlsVersion::v1_0: p.min_version = tls::MinVersion::tls1_0; break;
        case conf::TlsVersion::v1_1: p.min_version = tls::MinVersion::tls1_1; break;
        case conf::TlsVersion::v1_2: p.min_version = tls::MinVersion::tls1_2; break;
        case conf::TlsVersion::v1_3: p.min_version = tls::MinVersion::tls1_3; break;
    }
    p.ciphers = t.ciphers;
    p.ciphersuites = t.ciphersuites;
    p.groups = t.groups;
    p.signature_algorithms = t.signature_algorithms;
    p.security_level = t.security_level;
    return p;
}

tls::ServerContextOptions context_options(const conf::Listener& l) {
    tls::ServerContextOptions o;
    o.certificate_chain = l.tls.certificate;
    o.private_key = l.tls.private_key;
    o.client_ca = l.tls.client_ca;
    o.verify_peer = l.tls.verify_client == conf::VerifyClient::required   ? tls::PeerVerification::required
                    : l.tls.verify_client == conf::VerifyClient::optional ? tls::PeerVerification::optional
                                                                          : tls::PeerVerification::none;
    o.second_certificate_chain = l.tls.second_certificate;
    o.second_private_key = l.tls.second_private_key;
    o.protocol = protocol_settings(l.tls);
    o.async_verification = l.revocation.has_value();
    o.own_record_layer = l.tls.own_record_layer;
    return o;
}

std::shared_ptr<ListenerCounters> counters_for(const std::string& name, const Runtime* previous) {
    if (previous)
        for (const auto& settings : previous->listeners)
            if (settings->conf.name == name) return settings->counters_owner;
    return std::make_shared<ListenerCounters>();
}

const ocsp::Checker* checker_named(const std::string& name, const Runtime* previous) {
    if (!previous) return nullptr;
    auto it = previous->checkers.find(name);
    return it == previous->checkers.end() ? nullptr : it->second.get();
}

Result<std::shared_ptr<const ListenerSettings>> build_listener(const conf::Listener& l, const CheckerMap& checkers,
                                                               const std::map<std::string, conf::RevocationProfile>& config_profiles,
                                                               const Runtime* previous) {
    auto ctx = tls::make_server_context(context_options(l));
    if (!ctx) return make_error(Errc::config, "listener " + l.name + ": " + ctx.error().message);
    auto settings = std::make_shared<ListenerSettings>(counters_for(l.name, previous));
    settings->conf = l;
    settings->ssl_ctx = std::move(ctx).value();
    settings->backend_addresses = std::make_shared<BackendAddresses>(l.name, l.backend, l.backend_resolve_interval);
    if (l.tls.stapling) {
        auto chain = tls::load_certificates(l.tls.certificate);
        if (!chain) return make_error(Errc::config, "listener " + l.name + ": " + chain.error().message);
        if (chain->size() < 2)  // conf/validate.cpp says so at --check-config too
            return make_error(Errc::config, "listener " + l.name + ": stapling needs the certificate's issuer in its file");
        settings->staple_certificate = std::move(chain->at(0));
        settings->staple_issuer = std::move(chain->at(1));
        settings->staple = std::make_shared<tls::StapleSlot>();
        tls::enable_stapling(settings->ssl_ctx.get(), settings->staple.get());
    }
    if (l.revocation) settings->checker = checkers.at(*l.revocation);
    if (l.revocation) settings->recheck_interval = config_profiles.at(*l.revocation).recheck_interval;
    if (l.backend_tls) {
        auto backend_ctx = tls::make_client_context(l.backend_ca, l.backend_revocation.has_value());
        if (!backend_ctx) return make_error(Errc::config, "listener " + l.name + ": " + backend_ctx.error().message);
        settings->backend_ctx = std::move(backend_ctx).value();
        settings->backend_server_name = !l.backend_server_name.empty() ? l.backend_server_name
                                        : !l.backend.host.empty()
                                            ? l.backend.host
                                            : format_host(reinterpret_cast<const sockaddr*>(&l.backend.storage));
        if (l.backend_revocation) settings->backend_checker = checkers.at(*l.backend_revocation);
    }
    return std::shared_ptr<const ListenerSettings>(std::move(settings));
}

}  // namespace

std::shared_ptr<const ListenerSettings> Runtime::listener_at(const std::string& key) const {
    for (const auto& settings : listeners)
        if (listener_key(settings->conf) == key) return settings;
    return nullptr;
}

std::string listener_key(const conf::Listener& listener) {
    return format_address(reinterpret_cast<const sockaddr*>(&listener.listen.storage));
}

Result<std::shared_ptr<const Runtime>> build_runtime(conf::Config config, const Runtime* previous) {
    auto runtime = std::make_shared<Runtime>();
    runtime->generation = previous ? previous->generation + 1 : 1;
    if (previous)
        runtime->shared_cache = previous->shared_cache;
    else if (config.cache.shared.enabled)
        runtime->shared_cache = std::make_shared<ocsp::SharedCache>(config.cache.shared);
    for (const auto& [name, profile] : config.revocation) {
        auto checker = ocsp::create_checker(profile, checker_named(name, previous), runtime->shared_cache);
        if (!checker) return std::move(checker).error();
        runtime->checkers.emplace(name, std::shared_ptr<ocsp::Checker>(std::move(checker).value()));
    }
    for (const conf::Listener& l : config.listeners) {
        auto settings = build_listener(l, runtime->checkers, config.revocation, previous);
        if (!settings) return std::move(settings).error();
        runtime->listeners.push_back(std::move(settings).value());
    }
    runtime->watched_certificates = expiry::configured_certificates(config);
    runtime->config = std::move(config);
    return std::shared_ptr<const Runtime>(std::move(runtime));
}

}  // namespace ocspgate::proxy
