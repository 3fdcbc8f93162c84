// The schema for the top level, [server], [[listener]], [listener.tls], [listener.sip] and
// [listener.ldap].
// [revocation.NAME] and its sub-tables are in schema_revocation.cpp.
#include "conf/schema.h"

#include <algorithm>
#include <cctype>

#include "conf/validate.h"
#include "conf/values.h"
#include "tls/protocol_settings.h"

namespace ocspgate::conf {
namespace {

constexpr auto required = Presence::required;

// A backend name to check in its certificate: a DNS name or a numeric IPv4/IPv6 address.
struct ServerNameValue {
    std::optional<std::string> parse(const toml::node& node, Context& context) const {
        std::optional<std::string> text = expect_string(node, context);
        if (!text) return std::nullopt;
        bool plausible = !text->empty() && text->size() <= 253 && std::all_of(text->begin(), text->end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == ':';
        });
        if (!plausible) {
            context.error(node, fmt::format("{} is not a DNS name or IP address", quote(*text)));
            return std::nullopt;
        }
        return text;
    }
    std::string type() const { return "DNS name or IP address"; }
    std::string show(const std::string& value) const { return quote(value); }
};

// A cipher, suite, group or signature-algorithm list in OpenSSL syntax, refused here when a
// scratch SSL_CTX refuses it, so --check-config fails where start-up would.
struct OpenSslListValue {
    tls::ProtocolString which;

    std::optional<std::string> parse(const toml::node& node, Context& context) const {
        std::optional<std::string> text = expect_string(node, context);
        if (!text) return std::nullopt;
        if (text->empty()) {
            context.error(node, "must not be empty (leave the key out for the default)");
            return std::nullopt;
        }
        if (auto accepted = tls::check_setting(which, *text); !accepted) {
            context.error(node, accepted.error().message);
            return std::nullopt;
        }
        return text;
    }
    std::string type() const { return "OpenSSL list"; }
    std::string show(const std::string& value) const { return quote(value); }
};

Section<Config> make_root_section() {
    return {
        .title = "top level",
        .doc = "The file holds these tables and nothing else.",
        .fields = {
            table_key("server", &Config::server, server_section(),
                      "Process-wide settings."),
            table_key("admin", &Config::admin, admin_section(),
                      "The HTTP admin endpoint (health, readiness, metrics, status). Absent: no "
                      "admin endpoint.")
                .with_default_text("none (disabled)"),
            table_key("expiry", &Config::expiry, expiry_section(),
                      "The certificate expiry monitor (log, metrics, optional email)."),
            table_key("cache", &Config::cache, cache_section(),
                      "Caches shared beyond one process (the fleet's shared OCSP response cache)."),
            tables_key("listener", &Config::listeners, listener_section(),
                       "One [[listener]] table per listening socket.", required),
            named_tables_key("revocation", &Config::revocation, &RevocationProfile::name,
                             profile_section(),
                             "Revocation profiles, one [revocation.NAME] table each; listeners "
                             "refer to them by NAME."),
        },
        .check = check_config,
    };
}

Section<Server> make_server_section() {
    return {
        .title = "[server]",
        .doc = "Process-wide settings. The table and each of its keys are optional.",
        .fields = {
            value_key("workers", &Server::workers, IntegerValue<unsigned>{0, 256},
                      "Worker threads, each running its own event loop. 0 means one per CPU core."),
            value_key("handshake_timeout", &Server::handshake_timeout, DurationValue{true},
                      "Longest a client may take to complete the TLS handshake, from accept, "
                      "including the wait for the revocation check, which plans for it: each "
                      "method of the chain gets its turn within it (attempts are cut short in "
                      "proportion when they cannot all fit, which --check-config warns about), "
                      "and up to 250 ms (a tenth of it) is kept to send the verdict's alert. "
                      "Slower clients are disconnected."),
            value_key("idle_timeout", &Server::idle_timeout, DurationValue{true},
                      "A connection with no traffic in either direction for this long is closed."),
            value_key("drain_timeout", &Server::drain_timeout, DurationValue{},
                      "After SIGTERM, how long open connections may continue before they are "
                      "closed; \"0s\" closes them at once."),
            value_key("linger_timeout", &Server::linger_timeout, DurationValue{},
                      "After refusing a client with a TLS alert, ocspgate shuts down its sending "
                      "side and reads and drops what the client still sends for up to this long "
                      "before closing (a lingering close, as nginx's lingering_close), so that a "
                      "client still writing its handshake (Java JSSE at TLS 1.3) reads the alert "
                      "instead of a connection reset. \"0s\": close at once."),
            value_key("linger_max_bytes", &Server::linger_max_bytes,
                      IntegerValue<std::size_t>{0, 16 * 1024 * 1024},
                      "Most bytes read and dropped from one lingering connection; beyond them it "
                      "is closed."),
            value_key("max_lingering", &Server::max_lingering,
                      IntegerValue<std::uint32_t>{0, 1000000},
                      "Most connections lingering at once, across workers (each holds one file "
                      "descriptor and counts toward max_connections); a refusal beyond it closes "
                      "at once."),
            value_key("max_connections", &Server::max_connections,
                      IntegerValue<std::uint32_t>{1, std::numeric_limits<std::uint32_t>::max()},
                      "Most client connections open at once, across all listeners and workers. "
                      "Each proxied connection holds two file descriptors: a value the open-file "
                      "limit cannot hold is warned about at start, naming the value that fits.")
                .with_default_text("10000, or (open-file limit - 256) / 2 when that is lower "
                                   "(the value chosen is logged at start)"),
            value_key("max_awaiting_revocation", &Server::max_awaiting_revocation,
                      IntegerValue<std::uint32_t>{1, std::numeric_limits<std::uint32_t>::max()},
                      "Most handshakes waiting at once for a revocation lookup (a responder or "
                      "CRL download), across all listeners and workers. A handshake that would "
                      "wait beyond it is refused at once, as undetermined, with the verdict's "
                      "alert; cached answers need no wait and are never refused for it. Keeps a "
                      "hanging responder from piling up connections to the open-file limit."),
            value_key("share_listen_ports", &Server::share_listen_ports, BoolValue{},
                      "Let other processes (of the same user, also sharing) listen on the "
                      "listeners' addresses: every worker socket is bound with SO_REUSEPORT and "
                      "the kernel spreads new connections over all of them, across processes. "
                      "Off, start-up or a reload that adds a listener fails, naming the address "
                      "and its owner, when another process already listens there."),
            value_key("log_format", &Server::log_format, EnumValue<LogFormat>{},
                      "\"text\" for people, \"json\" (one object per line) for log collectors."),
            value_key("log_level", &Server::log_level, EnumValue<LogLevel>{},
                      "The least severe level that is logged."),
            value_key("user", &Server::user, AccountValue{AccountValue::Kind::user},
                      "Once every listener is bound, switch to this user (and its primary group "
                      "unless `group` is set; supplementary groups are dropped). Needs root; if "
                      "the switch fails, ocspgate exits. Files read later (CRL files, reloads) "
                      "must be readable by this user.")
                .with_default_text("unset (keep the starting user)"),
            value_key("group", &Server::group, AccountValue{AccountValue::Kind::group},
                      "Once every listener is bound, switch to this group (supplementary groups "
                      "are dropped). Needs root; if the switch fails, ocspgate exits.")
                .with_default_text("unset (keep the starting group)"),
        },
        .check = {},
    };
}

Section<Admin> make_admin_section() {
    return {
        .title = "[admin]",
        .doc = "The HTTP/1.1 admin endpoint, served by the main thread (never by a worker): "
               "GET /healthz, /readyz, /metrics (Prometheus text 0.0.4) and /status (JSON). "
               "Optional: the endpoint exists only when this table is present, even empty. "
               "It has no authentication, so keep it on loopback or a management network.",
        .fields = {
            value_key("listen", &Admin::listen, AddressValue{},
                      "The numeric address and port of the admin endpoint.")
                .with_default_text("\"127.0.0.1:9901\""),
            value_key("max_request_size", &Admin::max_request_size,
                      IntegerValue<std::size_t>{256, 1024 * 1024},
                      "Largest request (request line and headers) in bytes; a larger one is "
                      "answered 413 and the connection closed. Each request must arrive within "
                      "5 s, one request per connection."),
            value_key("health_window", &Admin::health_window, DurationValue{true},
                      "How far back the responder and profile health of /status, `ocspgate status` "
                      "and the gauge ocspgate_revocation_responder_recent_exchanges look: OCSP "
                      "exchanges older than this (or beyond each responder's last 128) no longer "
                      "count, so a responder that recovered shows ok once its failures are this old. "
                      "Can change on reload."),
        },
        .check = [](const toml::table&, Admin& admin, Context&) { admin.enabled = true; },
    };
}

Section<Listener> make_listener_section() {
    return {
        .title = "[[listener]]",
        .doc = "A TLS socket in front of one backend. At least one is required.",
        .fields = {
            value_key("name", &Listener::name, NameValue{},
                      "Names the listener in logs and metrics; unique. 1 to 64 letters, digits, "
                      "'.', '_' or '-'.",
                      required),
            value_key("protocol", &Listener::protocol, EnumValue<Protocol>{},
                      "What runs inside TLS. \"tcp\": any byte stream, forwarded as is. \"sip\": "
                      "SIP over TLS. \"ldaps\": LDAP over TLS from the first byte. "
                      "\"ldap-starttls\": plain LDAP until the client's StartTLS request."),
            value_key("listen", &Listener::listen, AddressValue{},
                      "The numeric address and port that accept client connections, e.g. "
                      "\"0.0.0.0:5061\", \"[::]:5061\" or, with a zone id, \"[fe80::1%eth0]:5061\". "
                      "Unique across listeners.",
                      required),
            value_key("backend", &Listener::backend, AddressValue{.allow_names = true},
                      "The address and port that decrypted traffic is forwarded to, over plain "
                      "TCP (or TLS with backend_tls = true): numeric (\"10.0.0.5:5060\", "
                      "\"[fe80::1%eth0]:5060\") or a host name (\"sip-core.corp.internal:5060\"). "
                      "A name is resolved by the system resolver (/etc/hosts, DNS) off the event "
                      "loop when a connection needs it, again every backend_resolve_interval and "
                      "after a connect to every address failed; its addresses are tried in turn, "
                      "the next one 250 ms after the previous attempt started if that is still "
                      "pending (RFC 8305), the first to connect wins. --check-config warns about a "
                      "name that does not resolve.",
                      required),
            value_key("connect_timeout", &Listener::connect_timeout, DurationValue{true},
                      "Longest wait for the backend to accept a connection (host name "
                      "resolution and every address tried included)."),
            value_key("backend_resolve_interval", &Listener::backend_resolve_interval, DurationValue{true},
                      "How long the addresses of a backend given by host name are used before "
                      "the name is resolved again (the next connection after that resolves it, "
                      "while the others keep the previous addresses). No effect on a numeric "
                      "backend."),
            value_key("revocation", &Listener::revocation, OptionalValue<NameValue>{},
                      "The [revocation.NAME] profile that checks client certificates. Unset: "
                      "client certificates are verified against client_ca but their revocation "
                      "status is not checked. Needs verify_client other than \"none\"; with "
                      "\"optional\", clients that send no certificate are not checked at all "
                      "(a warning at every load)."),
            value_key("proxy_protocol", &Listener::proxy_protocol, BoolValue{},
                      "Start every backend connection with a PROXY protocol v2 header carrying "
                      "the client's address and TLS facts (version, cipher, client certificate "
                      "CN), for backends such as Kamailio (tcp_accept_haproxy) and OpenLDAP "
                      "(pldap://). Its lengths are 16 bits: a client whose certificate CN cannot "
                      "fit (over 65 512 bytes over IPv4, 65 488 over IPv6) is refused before any "
                      "backend connection; a version or cipher that cannot fit is left out, with "
                      "a proxy_header_incomplete warning."),
            value_key("backend_tls", &Listener::backend_tls, BoolValue{},
                      "Speak TLS to the backend as well (e.g. an LDAPS backend), verifying its "
                      "certificate against backend_ca and its name against backend_server_name. "
                      "ocspgate presents no client certificate to the backend."),
            value_key("backend_ca", &Listener::backend_ca, FileValue{FileValue::Kind::certificates},
                      "PEM file: the CA certificates that the backend's certificate chain is "
                      "verified against.")
                .with_default_text("required when backend_tls = true"),
            value_key("backend_server_name", &Listener::backend_server_name, ServerNameValue{},
                      "The DNS name or IP address that the backend's certificate must carry "
                      "(subjectAltName); a DNS name is also sent as SNI.")
                .with_default_text("the backend's host name, or its IP address"),
            value_key("backend_revocation", &Listener::backend_revocation, OptionalValue<NameValue>{},
                      "The [revocation.NAME] profile that checks the backend's certificate during "
                      "the backend handshake (needs backend_tls). Unset: the backend's certificate "
                      "is verified against backend_ca but its revocation status is not checked."),
            table_key("tls", &Listener::tls, tls_section(), "TLS settings of this listener.",
                      required),
            table_key("ldap", &Listener::ldap, ldap_section(),
                      "The LDAP fronts' settings; only with protocol = \"ldap-starttls\" or "
                      "\"ldaps\"."),
            table_key("sip", &Listener::sip, sip_section(),
                      "The SIP front's settings; only with protocol = \"sip\"."),
        },
        .check = check_listener,
    };
}

Section<TlsSettings> make_tls_section() {
    using Kind = FileValue::Kind;
    return {
        .title = "[listener.tls]",
        .doc = "The TLS settings of the [[listener]] above it. Required.",
        .fields = {
            value_key("certificate", &TlsSettings::certificate, FileValue{Kind::certificates},
                      "PEM file: the server certificate first, then the intermediates to send "
                      "with it.",
                      required),
            value_key("private_key", &TlsSettings::private_key, FileValue{Kind::private_key},
                      "PEM file: the unencrypted private key of certificate.", required),
            value_key("client_ca", &TlsSettings::client_ca, FileValue{Kind::certificates},
                      "PEM file: the CA certificates (trust anchors and intermediates) that "
                      "client certificate chains are verified against.")
                .with_default_text("required unless verify_client = \"none\""),
            value_key("verify_client", &TlsSettings::verify_client, EnumValue<VerifyClient>{},
                      "\"required\": clients must present a certificate that verifies. "
                      "\"optional\": a certificate is verified if the client presents one; a "
                      "client that presents none gets through without it, and so without the "
                      "listener's revocation check (a warning when the listener has one). "
                      "\"none\": no client certificate is requested."),
            value_key("second_certificate", &TlsSettings::second_certificate,
                      FileValue{Kind::certificates},
                      "PEM file: a second server certificate (and its intermediates) whose key "
                      "is of another type than certificate's, e.g. RSA beside ECDSA. OpenSSL "
                      "picks, per handshake, the one the client's cipher suites and signature "
                      "algorithms allow; RSA key-exchange suites (AES128-SHA, ...) need an RSA "
                      "certificate.")
                .with_default_text("unset (one certificate)"),
            value_key("second_private_key", &TlsSettings::second_private_key,
                      FileValue{Kind::private_key},
                      "PEM file: the unencrypted private key of second_certificate.")
                .with_default_text("required with second_certificate"),
            value_key("min_version", &TlsSettings::min_version, EnumValue<TlsVersion>{},
                      "The oldest TLS version accepted. \"1.0\" and \"1.1\" need "
                      "allow_legacy_tls = true and security_level = 0 (OpenSSL 3 allows them "
                      "only at level 0), and are warned about at every load."),
            value_key("allow_legacy_tls", &TlsSettings::allow_legacy_tls, BoolValue{},
                      "Permit min_version \"1.0\" or \"1.1\", for clients that cannot be "
                      "upgraded. Both versions are deprecated (RFC 8996)."),
            value_key("ciphers", &TlsSettings::ciphers, OpenSslListValue{tls::ProtocolString::ciphers},
                      "TLS 1.2 (and older) cipher list in OpenSSL syntax, e.g. "
                      "\"ECDHE-ECDSA-AES128-GCM-SHA256:AES128-SHA\"; checked by OpenSSL at "
                      "load. Suites weaker than security_level allows are left out silently.")
                .with_default_text("ECDHE with AES-GCM or ChaCha20-Poly1305 only"),
            value_key("ciphersuites", &TlsSettings::ciphersuites,
                      OpenSslListValue{tls::ProtocolString::ciphersuites},
                      "TLS 1.3 cipher suites in OpenSSL syntax, e.g. "
                      "\"TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256\".")
                .with_default_text("OpenSSL's (all AEAD)"),
            value_key("groups", &TlsSettings::groups, OpenSslListValue{tls::ProtocolString::groups},
                      "Key-exchange groups in order of preference, e.g. \"X25519:P-256\".")
                .with_default_text("OpenSSL's"),
            value_key("signature_algorithms", &TlsSettings::signature_algorithms,
                      OpenSslListValue{tls::ProtocolString::signature_algorithms},
                      "Signature algorithms for the handshake, e.g. "
                      "\"ECDSA+SHA256:RSA-PSS+SHA256:RSA+SHA256\".")
                .with_default_text("OpenSSL's"),
            value_key("security_level", &TlsSettings::security_level,
                      OptionalValue<IntegerValue<int>>{{0, 5}},
                      "OpenSSL security level (SSL_CTX_set_security_level): the least key size, "
                      "signature hash and protocol version accepted, for the server's and the "
                      "clients' certificates alike. Level 1 refuses SHA-1 signatures and RSA "
                      "under 1024 bits, 2 RSA under 2048 bits, 3 RSA under 3072 bits. "
                      "Certificates signed with SHA-1 need 0.")
                .with_default_text("unset (OpenSSL's configured default, often 1 or 2)"),
            value_key("stapling", &TlsSettings::stapling, BoolValue{},
                      "Staple an OCSP response for certificate to the handshakes of clients that "
                      "ask for one (status_request; TLS 1.2 and 1.3). It is fetched in the "
                      "background from stapling_responder or the certificate's AIA, validated "
                      "like any response, refreshed halfway to its nextUpdate and retried with "
                      "backoff; only a \"good\" answer is stapled, never an expired one. "
                      "certificate must hold its issuer after the leaf. Logged "
                      "(own_staple_fetched, own_staple_failed, own_certificate_revoked) and in "
                      "metrics (ocspgate_own_staple_*). The second_certificate is not stapled."),
            value_key("stapling_responder", &TlsSettings::stapling_responder, UrlValue{},
                      "The OCSP responder asked for the stapled response.")
                .with_default_text("the certificate's AIA OCSP URL"),
            value_key("stapling_refuse_revoked", &TlsSettings::stapling_refuse_revoked, BoolValue{},
                      "true: while the responder says certificate is revoked, every handshake "
                      "on this listener fails (the listener stops serving a revoked "
                      "certificate). false: it is reported, and the handshakes go on without "
                      "a staple."),
            value_key("own_record_layer", &TlsSettings::own_record_layer, BoolValue{},
                      "After a TLS 1.3 handshake with an AES-GCM or ChaCha20-Poly1305 suite, "
                      "protect the connection's records in ocspgate (RFC 8446 §5, with "
                      "OpenSSL's ciphers) and free OpenSSL's per-connection state: an idle "
                      "connection then costs about a third of the memory. Client KeyUpdate is "
                      "followed; TLS 1.2 connections always stay with OpenSSL. false: OpenSSL "
                      "keeps every connection to its end."),
            value_key("close_on_expiry", &TlsSettings::close_on_expiry, BoolValue{},
                      "Close an open connection when the client certificate (or a CA of its "
                      "verified chain) passes its notAfter. false: only the handshake checks "
                      "validity."),
        },
        .check = check_tls,
    };
}

Section<LdapSettings> make_ldap_section() {
    return {
        .title = "[listener.ldap]",
        .doc = "The LDAP front of a [[listener]] with protocol = \"ldap-starttls\" or \"ldaps\" "
               "(an error on any other protocol); optional. With \"ldaps\" only "
               "answer_unavailable (and max_message_size for its answer) applies. See docs/LDAP.md.",
        .fields = {
            value_key("max_message_size", &LdapSettings::max_message_size,
                      IntegerValue<std::size_t>{64, 64 * 1024 * 1024},
                      "Largest LDAPMessage accepted before StartTLS, in bytes. A larger one gets "
                      "a Notice of Disconnection (protocolError) and the connection is closed."),
            value_key("require_starttls", &LdapSettings::require_starttls, BoolValue{},
                      "Every operation before StartTLS gets confidentialityRequired (13) from "
                      "ocspgate and never reaches the backend. Only true is accepted: plain LDAP "
                      "before TLS would reach the backend without any certificate or revocation "
                      "check."),
            value_key("answer_unavailable", &LdapSettings::answer_unavailable, BoolValue{},
                      "When the backend cannot be reached (connection refused, connect_timeout) "
                      "after the client was accepted, answer the client's first operation from "
                      "ocspgate in its own response type with resultCode unavailable (52), then "
                      "close, so that a client with a second server fails over at once. false: "
                      "the connection is closed (close_notify)."),
        },
        .check = {},
    };
}

// A SIP header-name prefix: an RFC 3261 token, so every name built from it is a valid header.
struct HeaderPrefixValue {
    std::optional<std::string> parse(const toml::node& node, Context& context) const {
        std::optional<std::string> text = expect_string(node, context);
        if (!text) return std::nullopt;
        constexpr std::string_view kTokenPunctuation = "-.!%*_+`'~";
        bool is_token = !text->empty() && std::all_of(text->begin(), text->end(), [&](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
                   kTokenPunctuation.find(c) != std::string_view::npos;
        });
        if (!is_token) {
            context.error(node, fmt::format("{} is not a SIP header-name prefix (letters, digits "
                                            "and -.!%*_+`'~)", quote(*text)));
            return std::nullopt;
        }
        return text;
    }
    std::string type() const { return "header-name prefix"; }
    std::string show(const std::string& value) const { return quote(value); }
};

Section<SipSettings> make_sip_section() {
    return {
        .title = "[listener.sip]",
        .doc = "The SIP front of a [[listener]] with protocol = \"sip\" (an error on any other "
               "protocol); optional. See docs/SIP.md.",
        .fields = {
            value_key("max_message_size", &SipSettings::max_message_size,
                      IntegerValue<std::size_t>{1024, 16 * 1024 * 1024},
                      "Largest SIP message (start line, headers and body) in bytes. A larger "
                      "request is answered \"513 Message Too Large\" and the connection closed."),
            value_key("max_headers", &SipSettings::max_headers, IntegerValue<std::size_t>{8, 1000},
                      "Most header fields in one message; more is answered \"513 Message Too "
                      "Large\" and the connection closed."),
            value_key("identity_headers", &SipSettings::identity_headers, BoolValue{},
                      "Add the client certificate's Subject, Issuer, Serial, Fingerprint "
                      "(SHA-256) and Revocation (\"verdict;source\") as headers PREFIX + name "
                      "to every request sent to the backend. Headers the client sent whose "
                      "name starts with header_prefix are removed in any case."),
            value_key("header_prefix", &SipSettings::header_prefix, HeaderPrefixValue{},
                      "Prefix of the identity header names, e.g. X-Client-Cert-Subject."),
            value_key("keepalive", &SipSettings::keepalive, EnumValue<SipKeepalive>{},
                      "A client's double-CRLF keep-alive ping (RFC 5626): \"answer\" sends the "
                      "CRLF pong from ocspgate, \"pass\" forwards the ping to the backend."),
            value_key("answer_unavailable", &SipSettings::answer_unavailable, BoolValue{},
                      "When the backend cannot be reached (connection refused, connect_timeout) "
                      "after the client was accepted, answer the client's requests (never an "
                      "ACK) with \"503 Service Unavailable\" and Retry-After, from ocspgate, so "
                      "that a phone fails over to its next server at once instead of waiting for "
                      "its transaction timer. The connection then closes after 16 answers, when "
                      "the client closes, or 10 s after the failure. false: the connection is "
                      "closed (close_notify) as for any other protocol."),
            value_key("retry_after", &SipSettings::retry_after, DurationValue{},
                      "The Retry-After of answer_unavailable's 503s, in whole seconds."),
        },
        .check = {},
    };
}

}  // namespace

const Section<SipSettings>& sip_section() {
    static const Section<SipSettings> section = make_sip_section();
    return section;
}

const Section<LdapSettings>& ldap_section() {
    static const Section<LdapSettings> section = make_ldap_section();
    return section;
}

const Section<Config>& root_section() {
    static const Section<Config> section = make_root_section();
    return section;
}

const Section<Server>& server_section() {
    static const Section<Server> section = make_server_section();
    return section;
}

const Section<Admin>& admin_section() {
    static const Section<Admin> section = make_admin_section();
    return section;
}

const Section<Listener>& listener_section() {
    static const Section<Listener> section = make_listener_section();
    return section;
}

const Section<TlsSettings>& tls_section() {
    static const Section<TlsSettings> section = make_tls_section();
    return section;
}

std::vector<SectionDoc> reference_sections() {
    return {
        root_section().describe(),    server_section().describe(),
        admin_section().describe(),
        expiry_section().describe(),  expiry_email_section().describe(),
        listener_section().describe(), tls_section().describe(),
        sip_section().describe(),     ldap_section().describe(),
        profile_section().describe(), ocsp_section().describe(),
        issuer_section().describe(),  crl_section().describe(),
        cache_section().describe(),   shared_cache_section().describe(),
    };
}

}  // namespace ocspgate::conf
