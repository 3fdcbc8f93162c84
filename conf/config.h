// The validated, typed configuration. conf::load() produces it from TOML; nothing else in
// the program reads TOML. Every path is absolute (resolved against the config file's folder)
// and every value has been checked, so consumers can use fields without re-validating.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ocsp/settings.h"

namespace ocspgate::conf {

using Duration = std::chrono::milliseconds;

// A socket address: numeric ("127.0.0.1:5061", "[::1]:5061", "[fe80::1%eth0]:5061") or, for a
// backend only, a DNS name and port ("sip-core.corp.internal:5060"). A name is resolved by the
// worker that connects (uv_getaddrinfo, off the loop; proxy/core/backend_addresses.h), never
// while the configuration loads: DNS may be slow or down at start-up and on reload.
struct Address {
    std::string text;             // as written, for logs
    sockaddr_storage storage{};   // parsed; empty (length 0) when `host` names a DNS name
    socklen_t length = 0;
    std::string host;             // a DNS name to resolve; empty for a numeric address
    std::uint16_t port = 0;
};

enum class LogFormat { text, json };
enum class LogLevel { debug, info, warn, error };
enum class Protocol { tcp, sip, ldaps, ldap_starttls };
enum class VerifyClient { required, optional, none };
enum class TlsVersion { v1_0, v1_1, v1_2, v1_3 };
enum class SipKeepalive { answer, pass };

struct TlsSettings {
    std::filesystem::path certificate;   // PEM: leaf first, then intermediates
    std::filesystem::path private_key;   // PEM
    std::filesystem::path client_ca;     // PEM bundle: anchors and intermediates for client chains
    VerifyClient verify_client = VerifyClient::required;
    TlsVersion min_version = TlsVersion::v1_2;
    bool allow_legacy_tls = false;       // min_version "1.0"/"1.1" is accepted only with this set
    // A second identity of another key type (RSA beside ECDSA); empty = none.
    std::filesystem::path second_certificate;
    std::filesystem::path second_private_key;
    // OpenSSL syntax, checked by OpenSSL at load; empty = the built-in secure default.
    std::string ciphers;                 // TLS 1.2 and older
    std::string ciphersuites;            // TLS 1.3
    std::string groups;
    std::string signature_algorithms;
    std::optional<int> security_level;   // unset = OpenSSL's configured default
    bool close_on_expiry = true;         // close an open connection when the client certificate expires
    // TLS 1.3: after the handshake records are protected by tls::Record13 and OpenSSL's
    // per-connection state is freed (≈ 16 KiB less per idle connection).
    bool own_record_layer = true;
    // OCSP stapling of the listener's own certificate (tls/staple.h, ocsp/own_staple.h).
    bool stapling = false;
    std::string stapling_responder;        // empty: the certificate's AIA OCSP URL
    bool stapling_refuse_revoked = false;  // refuse every handshake while the certificate is revoked
};

// [listener.sip]: the SIP front (protocol = "sip"), see docs/SIP.md.
struct SipSettings {
    std::size_t max_message_size = 64 * 1024;  // start line + headers + body
    std::size_t max_headers = 100;              // header lines, folded continuations excluded
    bool identity_headers = true;               // add the client certificate headers to requests
    std::string header_prefix = "X-Client-Cert-";
    SipKeepalive keepalive = SipKeepalive::answer;  // client CRLFCRLF ping: pong ourselves or pass
    // The backend cannot be reached: answer requests with 503 and Retry-After (proxy/sip/front.cpp)
    // instead of closing.
    bool answer_unavailable = false;
    Duration retry_after{30000};  // whole seconds in the answer
};

// [listener.ldap]: the LDAP StartTLS front (protocol = "ldap-starttls"), see docs/LDAP.md.
struct LdapSettings {
    std::size_t max_message_size = 1024 * 1024;  // one LDAPMessage before StartTLS, BER header included
    bool require_starttls = true;                 // only true is accepted (see the schema's doc)
    bool answer_unavailable = false;  // unreachable backend: answer the first operation with unavailable (52)
};

struct Listener {
    std::string name;
    Protocol protocol = Protocol::tcp;
    Address listen;
    Address backend;
    Duration connect_timeout{5000};
    Duration backend_resolve_interval{30000};  // a backend given by name is resolved again after this
    TlsSettings tls;
    std::optional<std::string> revocation;  // name of a [revocation.NAME] profile
    bool proxy_protocol = false;            // send a PROXY v2 header first to the backend
    bool backend_tls = false;               // TLS toward the backend too (LDAPS backends)
    std::filesystem::path backend_ca;       // trust anchors for the backend's certificate
    std::string backend_server_name;        // name checked in the backend's certificate; "" = backend IP
    std::optional<std::string> backend_revocation;  // [revocation.NAME] for the backend's certificate
    LdapSettings ldap;                      // protocol = "ldap-starttls" only
    SipSettings sip;                        // protocol = "sip" only
};

struct Server {
    unsigned workers = 1;              // 0 = one per core
    Duration handshake_timeout{10000}; // whole handshake, revocation wait included
    Duration idle_timeout{15 * 60 * 1000};
    Duration drain_timeout{30000};     // SIGTERM: how long open connections may finish
    // Lingering close after a refusal (proxy/core/linger.cpp): how long and how much of what the
    // client still sends is read and dropped after our alert and FIN, and how many connections
    // may do so at once (beyond: closed at once). linger_timeout 0 = never linger.
    Duration linger_timeout{2000};
    std::size_t linger_max_bytes = 64 * 1024;
    std::uint32_t max_lingering = 1024;
    // 0 = not set: the process derives it from the open-file limit at start (at most
    // kDefaultMaxConnections; proxy/process/descriptors.h). A loaded config never holds 0
    // from the file (the schema's minimum is 1).
    std::uint32_t max_connections = 0;
    // Handshakes paused for a revocation lookup at once (every listener, every worker); one
    // more is refused at once rather than left to pile up behind a hanging responder.
    std::uint32_t max_awaiting_revocation = 1000;
    // Listening addresses may be shared with other processes (SO_REUSEPORT always, no check
    // that nobody else listens there). Off: start-up and reload refuse an address in use.
    bool share_listen_ports = false;
    LogFormat log_format = LogFormat::text;
    LogLevel log_level = LogLevel::info;
    // Accounts to switch to once every socket is bound; empty = keep the starting one.
    std::string user;                  // its primary group too, unless `group` is set
    std::string group;
};

// [admin]: the HTTP admin endpoint on the main loop. The table is optional; without it the
// endpoint is off (nothing listens that the operator did not ask for).
struct Admin {
    bool enabled = false;                // true when the [admin] table is present
    Address listen;                      // empty (length 0) = the default, 127.0.0.1:9901
    std::size_t max_request_size = 8 * 1024;
    Duration health_window{5 * 60 * 1000};  // what `ocspgate status` calls recent (HEALTH)
};

// A mail server: a DNS name or numeric IP and a port. Unlike Address, a name is allowed: the
// expiry monitor resolves it with uv_getaddrinfo off the loop, when it sends.
struct HostPort {
    std::string host;
    std::uint16_t port = 0;
    std::string text;  // as written, for logs
};

// [expiry.email]: warnings by email through an SMTP relay. Off unless the table is present.
struct ExpiryEmail {
    bool enabled = false;                 // true when the [expiry.email] table is present
    HostPort smtp;
    std::string from;
    std::vector<std::string> to;
    bool starttls = false;
    std::filesystem::path tls_ca;         // STARTTLS: the relay's CAs; empty = system store
    Duration timeout{30000};              // each SMTP step (connect, every reply)
};

// [expiry]: the certificate expiry monitor on the main loop.
struct Expiry {
    bool enabled = true;
    std::uint32_t notify_days = 30;
    Duration frequency{24LL * 3600 * 1000};
    std::uint32_t urgent_days = 7;
    Duration urgent_frequency{3600 * 1000};
    bool include_peer_certificates = true;
    std::uint32_t max_peer_certificates = 1000;
    ExpiryEmail email;
};

// [revocation.NAME]: the revocation engine's own settings types (ocsp/settings.h), filled in
// by the schema; conf/ maps TOML onto them, ocsp/ never reads conf/.
using ocsp::CheckScope;
using ocsp::CrlSettings;
using ocsp::NonceMode;
using ocsp::OcspIssuer;
using ocsp::OcspRequestMethod;
using ocsp::OcspSettings;
using ocsp::ResponderPreference;
using ocsp::RevocationMethod;
using ocsp::RevocationProfile;
using ocsp::UnknownPolicy;

// [cache]: caches beyond one process.
struct Cache {
    ocsp::SharedCacheSettings shared;  // [cache.shared]; enabled when the table is present
};

struct Config {
    std::filesystem::path source;  // the file it was loaded from
    Server server;
    Admin admin;
    Expiry expiry;
    Cache cache;
    std::vector<Listener> listeners;
    std::map<std::string, RevocationProfile> revocation;
};

}  // namespace ocspgate::conf
