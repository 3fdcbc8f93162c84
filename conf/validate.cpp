#include "conf/validate.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "conf/address.h"
#include "conf/load.h"
#include "conf/names.h"
#include "conf/pem_files.h"
#include "conf/quote.h"
#include "ocsp/aia.h"
#include "ocsp/budget.h"
#include "ocsp/policy.h"
#include "tls/certificate.h"

namespace ocspgate::conf {
namespace {

// The value of enum key `key` as written, `absent` when the key is missing, or nullopt when
// it is malformed (already reported; rules that depend on it are skipped).
template <class E>
std::optional<E> written_enum(const toml::table& table, std::string_view key, E absent) {
    const toml::node* node = table.get(key);
    if (node == nullptr) return absent;
    const auto* text = node->as_string();
    if (text == nullptr) return std::nullopt;
    for (const auto& entry : enum_names<E>()) {
        if (entry.name == text->get()) return entry.value;
    }
    return std::nullopt;
}

// Whether the operator set `key` to something other than "" (a malformed value counts: the
// intent to configure it is clear).
bool written(const toml::table& table, std::string_view key) {
    const toml::node* node = table.get(key);
    if (node == nullptr) return false;
    const auto* text = node->as_string();
    return text == nullptr || !text->get().empty();
}

void check_key_matches(const toml::table& table, std::string_view key_field,
                       const std::filesystem::path& certificate, const std::filesystem::path& key,
                       Context& context) {
    if (certificate.empty() || key.empty() || !key_mismatch(certificate, key)) return;
    context.error_at_key(table, key_field,
                         fmt::format("private key {} does not match certificate {}",
                                     quote(key.string()), quote(certificate.string())));
}

const toml::table* listener_table(const toml::table& root, std::size_t index) {
    const toml::array* listeners = root["listener"].as_array();
    if (listeners == nullptr || index >= listeners->size()) return nullptr;
    return (*listeners)[index].as_table();
}

int line_of(const toml::table& table, std::string_view key) {
    const toml::node* node = table.get(key);
    return static_cast<int>((node ? node->source() : table.source()).begin.line);
}

void check_unique_names(const toml::table& root, const Config& config, Context& context) {
    std::map<std::string, std::size_t> first_by_name;
    for (std::size_t i = 0; i < config.listeners.size(); ++i) {
        const std::string& name = config.listeners[i].name;
        const toml::table* table = listener_table(root, i);
        if (name.empty() || table == nullptr) continue;
        auto [first, inserted] = first_by_name.emplace(name, i);
        if (inserted) continue;
        auto scope = context.enter("listener");
        auto index_scope = context.enter_index(i);
        context.error_at_key(*table, "name",
                             fmt::format("listener name {} is already used by listener[{}] "
                                         "(line {})",
                                         quote(name), first->second,
                                         line_of(*listener_table(root, first->second), "name")));
    }
}

void check_unique_listen(const toml::table& root, const Config& config, Context& context) {
    for (std::size_t i = 0; i < config.listeners.size(); ++i) {
        const Listener& listener = config.listeners[i];
        const toml::table* table = listener_table(root, i);
        if (listener.listen.length == 0 || table == nullptr) continue;
        for (std::size_t earlier = 0; earlier < i; ++earlier) {
            if (!same_endpoint(config.listeners[earlier].listen, listener.listen)) continue;
            auto scope = context.enter("listener");
            auto index_scope = context.enter_index(i);
            context.error_at_key(*table, "listen",
                                 fmt::format("{} is already the listen address of listener[{}] "
                                             "(line {})",
                                             quote(listener.listen.text), earlier,
                                             line_of(*listener_table(root, earlier), "listen")));
            break;
        }
    }
}

std::string profile_names(const Config& config) {
    if (config.revocation.empty()) return "none are defined";
    std::string out = "defined: ";
    for (const auto& [name, profile] : config.revocation) {
        if (out.size() > 9) out += ", ";
        out += quote(name);
    }
    return out;
}

void check_profile_reference(const toml::table& root, const Config& config, std::size_t i,
                             const std::optional<std::string>& profile, std::string_view key,
                             Context& context) {
    const toml::table* table = listener_table(root, i);
    if (!profile || table == nullptr || config.revocation.contains(*profile)) return;
    auto scope = context.enter("listener");
    auto index_scope = context.enter_index(i);
    context.error_at_key(*table, key,
                         fmt::format("there is no [revocation.{}] profile ({})", *profile,
                                     profile_names(config)));
}

void check_profile_references(const toml::table& root, const Config& config, Context& context) {
    for (std::size_t i = 0; i < config.listeners.size(); ++i) {
        const Listener& listener = config.listeners[i];
        check_profile_reference(root, config, i, listener.revocation, "revocation", context);
        check_profile_reference(root, config, i, listener.backend_revocation, "backend_revocation",
                                context);
    }
}

}  // namespace

void check_tls(const toml::table& table, TlsSettings& tls, Context& context) {
    std::optional<VerifyClient> verify =
        written_enum(table, "verify_client", TlsSettings{}.verify_client);
    if (verify && *verify != VerifyClient::none && !table.contains("client_ca")) {
        context.error(table, fmt::format("missing required key \"client_ca\" (needed when "
                                         "verify_client is {})",
                                         quote(to_string(*verify))));
    }
    check_key_matches(table, "private_key", tls.certificate, tls.private_key, context);
    check_second_identity(table, tls, context);
    check_legacy_versions(table, tls, context);
    check_stapling(table, tls, context);
}

// Stapling needs a responder to ask and the issuer to build the CertID from, both known now
// rather than found missing in the background after start.
void check_stapling(const toml::table& table, const TlsSettings& tls, Context& context) {
    if (!tls.stapling || tls.certificate.empty()) return;
    auto chain = tls::load_certificates(tls.certificate);
    if (!chain || chain->empty()) return;  // reported with certificate
    if (chain->size() < 2 || X509_check_issued(chain->at(1).get(), chain->at(0).get()) != X509_V_OK) {
        context.error_at_key(table, "stapling",
                             "stapling needs the issuer of certificate in the same file, right after "
                             "the leaf (the CertID is built from it)");
        return;
    }
    if (tls.stapling_responder.empty() && ocsp::ocsp_urls(chain->at(0).get()).empty()) {
        context.error_at_key(table, "stapling",
                             "certificate names no OCSP responder (AIA): set stapling_responder");
    }
}

// The second certificate comes with its key, matches it, and has another key type than the
// first: OpenSSL keeps one certificate per key type, so the same type would replace it.
void check_second_identity(const toml::table& table, const TlsSettings& tls, Context& context) {
    bool has_certificate = table.contains("second_certificate");
    bool has_key = table.contains("second_private_key");
    if (has_certificate != has_key) {
        context.error_at_key(table, has_certificate ? "second_certificate" : "second_private_key",
                             "second_certificate and second_private_key come together");
        return;
    }
    check_key_matches(table, "second_private_key", tls.second_certificate, tls.second_private_key, context);
    if (tls.certificate.empty() || tls.second_certificate.empty() ||
        key_mismatch(tls.second_certificate, tls.second_private_key))
        return;
    auto first = read_private_key(tls.private_key);
    auto second = read_private_key(tls.second_private_key);
    if (first && second && EVP_PKEY_get_base_id(first->get()) == EVP_PKEY_get_base_id(second->get())) {
        context.error_at_key(table, "second_certificate",
                             "second_certificate has the same key type as certificate; it must be "
                             "another (e.g. RSA beside ECDSA)");
    }
}

// TLS 1.0 and 1.1 only when asked for twice, and a warning at every load when they are.
void check_legacy_versions(const toml::table& table, const TlsSettings& tls, Context& context) {
    bool legacy = tls.min_version == TlsVersion::v1_0 || tls.min_version == TlsVersion::v1_1;
    if (!legacy || !table.contains("min_version")) return;
    std::string version = quote(to_string(tls.min_version));
    if (!tls.allow_legacy_tls) {
        context.error_at_key(table, "min_version",
                             fmt::format("min_version {} is a deprecated TLS version (RFC 8996); "
                                         "set allow_legacy_tls = true to accept it anyway",
                                         version));
        return;
    }
    if (tls.security_level != 0) {
        context.error_at_key(table, "min_version",
                             fmt::format("min_version {} needs security_level = 0: OpenSSL 3 "
                                         "refuses TLS 1.0 and 1.1 at level 1 and above",
                                         version));
        return;
    }
    context.warning_at_key(table, "min_version",
                           fmt::format("min_version {} accepts deprecated TLS versions (RFC 8996) "
                                       "on this listener",
                                       version));
}

void check_listener(const toml::table& table, Listener& listener, Context& context) {
    if (listener.revocation && listener.tls.verify_client == VerifyClient::none) {
        context.error_at_key(table, "revocation",
                             "a revocation profile needs client certificates, but "
                             "tls.verify_client is \"none\"");
    }
    warn_unchecked_clients(table, listener, context);
    check_sip_table_fits(table, listener, context);
    check_backend_tls(table, listener, context);
    check_ldap_table_fits(table, listener, context);
}

// A revocation check needs a certificate to check: with verify_client = "optional" a client
// that sends none is let through without one. That is allowed (some deployments mix
// certificate and password clients), but an operator who configured a revocation profile
// expects every client to be checked, so it is said at every load.
void warn_unchecked_clients(const toml::table& table, const Listener& listener, Context& context) {
    const toml::table* tls = table["tls"].as_table();
    if (!listener.revocation || listener.tls.verify_client != VerifyClient::optional || tls == nullptr) {
        return;
    }
    auto scope = context.enter("tls");
    context.warning_at_key(
        *tls, "verify_client",
        fmt::format("on listener {}, clients that send no certificate are not revocation-checked: "
                    "verify_client = \"optional\" lets them through without the [revocation.{}] "
                    "check; set verify_client = \"required\" to check every client",
                    quote(listener.name), *listener.revocation));
}

// [listener.sip] configures the SIP front only; elsewhere it would be silently ignored.
void check_sip_table_fits(const toml::table& table, const Listener& listener, Context& context) {
    if (table.contains("sip") && listener.protocol != Protocol::sip) {
        context.error_at_key(table, "sip",
                             fmt::format("[listener.sip] needs protocol = \"sip\", but protocol "
                                         "is {}", quote(to_string(listener.protocol))));
    }
}

void check_backend_tls(const toml::table& table, const Listener& listener, Context& context) {
    if (listener.backend_tls && !table.contains("backend_ca")) {
        context.error_at_key(table, "backend_tls",
                             "backend_tls = true needs backend_ca (the CA certificates that the "
                             "backend's certificate is verified against)");
    }
    for (std::string_view key : {"backend_ca", "backend_server_name", "backend_revocation"}) {
        if (table.contains(key) && !listener.backend_tls) {
            context.error_at_key(table, key, fmt::format("{} needs backend_tls = true", key));
        }
    }
}

// [listener.ldap] configures the LDAP StartTLS front only; elsewhere it would be ignored.
void check_ldap_table_fits(const toml::table& table, const Listener& listener, Context& context) {
    bool speaks_ldap = listener.protocol == Protocol::ldap_starttls || listener.protocol == Protocol::ldaps;
    if (table.contains("ldap") && !speaks_ldap) {
        context.error_at_key(table, "ldap",
                             fmt::format("[listener.ldap] needs protocol = \"ldap-starttls\" or \"ldaps\", "
                                         "but protocol is {}", quote(to_string(listener.protocol))));
    }    if (const toml::table* ldap = table["ldap"].as_table(); ldap && !listener.ldap.require_starttls) {
        context.error_at_key(*ldap, "require_starttls",
                             "require_starttls = false is not supported: plain LDAP before StartTLS "
                             "would reach the backend without a certificate or revocation check");
    }
}

void check_profile(const toml::table& table, RevocationProfile& profile, Context& context) {
    const auto& methods = profile.methods;
    auto none = std::find(methods.begin(), methods.end(), RevocationMethod::none);
    if (none != methods.end() && none + 1 != methods.end()) {
        context.error_at_key(table, "methods",
                             "\"none\" must come last: the methods after it would never be tried");
    }
    const OcspSettings& ocsp = profile.ocsp;
    bool uses_ocsp =
        std::find(methods.begin(), methods.end(), RevocationMethod::ocsp) != methods.end();
    const toml::table* ocsp_table = table["ocsp"].as_table();
    bool responders_written =
        ocsp_table && (ocsp_table->contains("responders") || ocsp_table->contains("issuer"));
    if (uses_ocsp && !ocsp.use_aia && ocsp.responders.empty() && ocsp.issuers.empty() &&
        !responders_written) {
        context.error_at_key(table, "ocsp",
                             "OCSP has no responder to ask: list ocsp.responders, add "
                             "[[revocation.NAME.ocsp.issuer]] tables, or set ocsp.use_aia = true");
    }
}

void check_ocsp(const toml::table& table, OcspSettings& ocsp, Context& context) {
    bool has_certificate = written(table, "tls_certificate");
    bool has_key = written(table, "tls_private_key");
    if (has_certificate && !has_key) {
        context.error_at_key(table, "tls_certificate", "tls_certificate needs tls_private_key");
    } else if (has_key && !has_certificate) {
        context.error_at_key(table, "tls_private_key", "tls_private_key needs tls_certificate");
    }
    check_key_matches(table, "tls_private_key", ocsp.tls_certificate, ocsp.tls_private_key,
                      context);
    if (written_enum(table, "prefer", ocsp.prefer) == ResponderPreference::aia && !ocsp.use_aia) {
        context.error_at_key(table, "prefer", "\"aia\" needs use_aia = true");
    }
    check_nonce(table, ocsp, context);
}

// nonce was a boolean; true then refused every response without the nonce, which made
// responders that pre-sign responses refuse every certificate. It now reads as "prefer".
void check_nonce(const toml::table& table, const OcspSettings& ocsp, Context& context) {
    if (const toml::node* nonce = table.get("nonce"); nonce != nullptr && nonce->is_boolean()) {
        context.warning_at_key(
            table, "nonce",
            nonce->as_boolean()->get()
                ? "nonce = true is the old spelling and now means nonce = \"prefer\": a response "
                  "without the nonce is accepted while it is current; write nonce = \"prefer\", "
                  "or nonce = \"require\" to refuse such responses as before"
                : "nonce = false is the old spelling of nonce = \"off\"; write that");
    }
    if (ocsp.max_response_age && ocsp.nonce == NonceMode::require) {
        context.warning_at_key(table, "max_response_age",
                               "has no effect with nonce = \"require\": every accepted response "
                               "echoes our nonce");
    }
}

namespace {

// What one profile's chain may take on one certificate, in words: "ocsp 3 x 3s + crl 5s".
std::string chain_need_text(const RevocationProfile& profile) {
    std::size_t responders = profile.ocsp.responders.size();
    for (const auto& issuer : profile.ocsp.issuers) responders = std::max(responders, issuer.responders.size());
    std::string out;
    for (ocsp::RevocationMethod m : profile.methods) {
        ocsp::MethodNeed need = ocsp::method_need(profile, m, responders);
        if (need.attempts == 0) continue;
        if (!out.empty()) out += " + ";
        out += ocsp::to_string(m);
        out += need.attempts > 1 ? fmt::format(" {} x {}", need.attempts, format_duration(need.timeout))
                                 : " " + format_duration(need.timeout);
    }
    return out;
}

// The handshake timeout is the method chain's budget (ocsp/budget.h): attempts that cannot
// all fit still each get a turn, cut short in proportion, which the operator should know.
void check_handshake_budget(const toml::table& root, const Config& config, Context& context) {
    Duration timeout = config.server.handshake_timeout;
    Duration budget = timeout - ocsp::alert_reserve(timeout);
    std::set<std::string> warned;
    for (std::size_t i = 0; i < config.listeners.size(); ++i) {
        const auto& name = config.listeners[i].revocation;
        if (!name || warned.contains(*name)) continue;
        auto profile = config.revocation.find(*name);
        if (profile == config.revocation.end()) continue;
        Duration need = ocsp::chain_need(profile->second);
        if (need <= budget) continue;
        warned.insert(*name);
        const toml::table* server = root["server"].as_table();
        const bool at_server = server != nullptr && server->contains("handshake_timeout");
        std::string message = fmt::format(
            "{}{} leaves {} for the revocation check (the rest is kept to send "
            "the verdict's alert), but profile \"{}\" may take {} ({}) on one certificate: every "
            "attempt will be cut to about {}% of its timeout so that each method still gets its "
            "turn; raise handshake_timeout or lower the profile's timeouts",
            at_server ? "" : "the default handshake_timeout of ", format_duration(timeout), format_duration(budget), *name, format_duration(need),
            chain_need_text(profile->second), budget.count() * 100 / need.count());
        if (at_server) {
            context.warning_at_key(*server, "handshake_timeout", message);
        } else if (const toml::table* listener = listener_table(root, i)) {
            auto scope = context.enter("listener");
            auto index_scope = context.enter_index(i);
            context.warning_at_key(*listener, "revocation", message);
        }
    }
}

}  // namespace

void check_config(const toml::table& root, Config& config, Context& context) {
    check_unique_names(root, config, context);
    check_unique_listen(root, config, context);
    check_profile_references(root, config, context);
    check_handshake_budget(root, config, context);
}

}  // namespace ocspgate::conf
