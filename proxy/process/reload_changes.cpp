#include "proxy/process/reload_changes.h"

#include <functional>

#include "proxy/log/log.h"

namespace ocspgate::proxy::process {
namespace {

// The listener keys a reload may change, as conf/README.md names them; nested tables compare
// as a whole.
struct ListenerKey {
    const char* name;
    std::function<bool(const conf::Listener&, const conf::Listener&)> same;
};

bool same_tls(const conf::TlsSettings& a, const conf::TlsSettings& b) {
    return a.certificate == b.certificate && a.private_key == b.private_key && a.client_ca == b.client_ca &&
           a.verify_client == b.verify_client && a.min_version == b.min_version &&
           a.allow_legacy_tls == b.allow_legacy_tls && a.second_certificate == b.second_certificate &&
           a.second_private_key == b.second_private_key && a.ciphers == b.ciphers && a.ciphersuites == b.ciphersuites &&
           a.groups == b.groups && a.signature_algorithms == b.signature_algorithms &&
           a.security_level == b.security_level && a.close_on_expiry == b.close_on_expiry;
}

const std::vector<ListenerKey>& listener_keys() {
    using L = conf::Listener;
    static const std::vector<ListenerKey> keys = {
        {"listen", [](const L& a, const L& b) { return a.listen.text == b.listen.text; }},
        {"protocol", [](const L& a, const L& b) { return a.protocol == b.protocol; }},
        {"backend", [](const L& a, const L& b) { return a.backend.text == b.backend.text; }},
        {"connect_timeout", [](const L& a, const L& b) { return a.connect_timeout == b.connect_timeout; }},
        {"tls", [](const L& a, const L& b) { return same_tls(a.tls, b.tls); }},
        {"revocation", [](const L& a, const L& b) { return a.revocation == b.revocation; }},
        {"proxy_protocol", [](const L& a, const L& b) { return a.proxy_protocol == b.proxy_protocol; }},
        {"backend_tls", [](const L& a, const L& b) {
             return a.backend_tls == b.backend_tls && a.backend_ca == b.backend_ca &&
                    a.backend_server_name == b.backend_server_name;
         }},
        {"backend_revocation", [](const L& a, const L& b) { return a.backend_revocation == b.backend_revocation; }},
        {"ldap", [](const L& a, const L& b) {
             return a.ldap.max_message_size == b.ldap.max_message_size && a.ldap.require_starttls == b.ldap.require_starttls;
         }},
        {"sip", [](const L& a, const L& b) {
             return a.sip.max_message_size == b.sip.max_message_size && a.sip.max_headers == b.sip.max_headers &&
                    a.sip.identity_headers == b.sip.identity_headers && a.sip.header_prefix == b.sip.header_prefix &&
                    a.sip.keepalive == b.sip.keepalive;
         }},
    };
    return keys;
}

const conf::Listener* listener_named(const Runtime& runtime, const std::string& name) {
    for (const auto& settings : runtime.listeners)
        if (settings->conf.name == name) return &settings->conf;
    return nullptr;
}

void listener_changes(const Runtime& running, const Runtime& next, std::vector<ReloadChange>& out) {
    for (const auto& settings : next.listeners) {
        const conf::Listener& now = settings->conf;
        const conf::Listener* before = listener_named(running, now.name);
        if (before == nullptr) {
            out.push_back({"listener", now.name, "added", now.listen.text, "", ""});
            continue;
        }
        std::string changed;
        for (const ListenerKey& key : listener_keys())
            if (!key.same(*before, now)) changed += (changed.empty() ? "" : ",") + std::string(key.name);
        if (!changed.empty()) out.push_back({"listener", now.name, "changed", now.listen.text, changed, ""});
    }
    for (const auto& settings : running.listeners)
        if (listener_named(next, settings->conf.name) == nullptr)
            out.push_back({"listener", settings->conf.name, "removed", settings->conf.listen.text, "", ""});
}

void profile_changes(const Runtime& running, const Runtime& next, std::vector<ReloadChange>& out) {
    for (const auto& [name, checker] : next.checkers) {
        auto before = running.config.revocation.find(name);
        auto now = next.config.revocation.find(name);
        if (running.checkers.count(name) == 0) {
            out.push_back({"profile", name, "added", "", "", "new"});
            continue;
        }
        bool same = before != running.config.revocation.end() && now != next.config.revocation.end() &&
                    before->second == now->second;
        // An unchanged profile still drops its cache when a trust file's bytes changed.
        out.push_back({"profile", name, same ? "unchanged" : "changed", "", "", checker->kept_cache() ? "kept" : "dropped"});
    }
    for (const auto& [name, checker] : running.checkers)
        if (next.checkers.count(name) == 0) out.push_back({"profile", name, "removed", "", "", "gone"});
}

}  // namespace

std::vector<ReloadChange> reload_changes(const Runtime& running, const Runtime& next) {
    std::vector<ReloadChange> out;
    listener_changes(running, next, out);
    profile_changes(running, next, out);
    return out;
}

void log_reload_changes(const std::vector<ReloadChange>& changes, const std::string& trigger) {
    for (const ReloadChange& c : changes) {
        log::Record record(c.what == "listener" ? "reload_listener" : "reload_profile");
        record.field("trigger", trigger).field(c.what, c.name).field("change", c.change);
        if (!c.address.empty()) record.field("address", c.address);
        if (!c.settings.empty()) record.field("settings", c.settings);
        if (!c.cache.empty()) record.field("cache", c.cache);
        record.emit(conf::LogLevel::info);
    }
}

}  // namespace ocspgate::proxy::process
