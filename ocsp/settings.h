// What one revocation profile ([revocation.NAME] in the config) asks of the engine: methods,
// their order and policy, OCSP responders and trust, CRL sources, timeouts and cache bounds.
// Plain values; conf/ fills them from TOML (and validates them), any other front end may fill
// them some other way. Nothing in ocsp/ reads the configuration file.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ocspgate::ocsp {

using Duration = std::chrono::milliseconds;

enum class RevocationMethod { ocsp, crl, none };
enum class CheckScope { leaf, chain };
enum class UnknownPolicy { revoked, good, next };
enum class ResponderPreference { configured, aia };
enum class OcspRequestMethod { post, get };
// RFC 8954 nonces. "off": none is sent. "prefer": one is sent; a response that echoes another
// is refused, one without any is accepted only while current (see ocsp/response.h), since
// RFC 8954 §2.1 lets responders that pre-sign responses ignore it. "require": one is sent and
// a response must echo it.
enum class NonceMode { off, prefer, require };

struct OcspIssuer {
    std::filesystem::path certificate;  // the issuing CA this entry applies to
    std::vector<std::string> responders;
    bool operator==(const OcspIssuer&) const = default;
};

struct OcspSettings {
    std::vector<std::string> responders;  // http:// or https:// URLs, tried in order
    bool use_aia = true;
    ResponderPreference prefer = ResponderPreference::configured;
    NonceMode nonce = NonceMode::prefer;
    OcspRequestMethod request = OcspRequestMethod::post;
    Duration timeout{3000};
    std::vector<std::filesystem::path> responder_trust;
    std::filesystem::path tls_ca;           // https responders' CAs; empty = system store
    std::filesystem::path tls_certificate;  // empty = none
    std::filesystem::path tls_private_key;
    std::size_t cache_entries = 100000;
    Duration max_cache_ttl{3600 * 1000};
    Duration error_cache_ttl{30 * 1000};
    Duration clock_skew{5 * 60 * 1000};
    Duration max_age{7 * 24 * 3600 * 1000LL};
    // Bound on the age (now - thisUpdate) of a response that does not echo our nonce (nonce
    // "off", or a responder that ignores it under "prefer"). nullopt: no bound beyond
    // nextUpdate, since pre-signed responses are typically hours old.
    std::optional<Duration> max_response_age;
    Duration stale_if_error{0};
    std::size_t max_response_size = 64 * 1024;
    std::vector<OcspIssuer> issuers;
    bool operator==(const OcspSettings&) const = default;
};

struct CrlSettings {
    std::vector<std::string> urls;                 // empty = the certificate's CRL DPs
    std::vector<std::filesystem::path> files;      // local CRLs, reloaded when changed
    Duration timeout{5000};
    std::size_t max_size = 10 * 1024 * 1024;
    // Separate CRL-signing certificates (same name as the CA, own key with cRLSign, certified
    // under the same trust anchor) and the intermediates their paths need (ocsp/crl_signer.h).
    std::vector<std::filesystem::path> signers;
    Duration grace{0};          // a CRL stays usable this long after its nextUpdate
    bool delta_required = true;  // a complete CRL naming delta CRLs (freshestCRL) needs one held
    bool operator==(const CrlSettings&) const = default;
};

struct RevocationProfile {
    std::string name;
    std::vector<RevocationMethod> methods{RevocationMethod::ocsp};
    CheckScope check = CheckScope::leaf;
    UnknownPolicy unknown = UnknownPolicy::revoked;
    Duration recheck_interval{0};
    OcspSettings ocsp;
    CrlSettings crl;
    // "http://HOST:PORT": OCSP requests and CRL downloads go through this HTTP proxy (CONNECT
    // for https:// responders); empty = direct.
    std::string http_proxy;
    bool operator==(const RevocationProfile&) const = default;  // reload: unchanged profiles keep their cache
};

// [cache.shared]: a Redis (or Valkey) that the instances of a fleet share signed OCSP
// responses through (ocsp/shared_cache/). Only signed bytes are shared, never verdicts: every
// reader validates what it takes as if it had just fetched it. conf/ parses the URL and reads
// the password file; nothing here touches files.
struct SharedCacheSettings {
    bool enabled = false;
    std::string url;          // as written, for logs: "redis://host:port/db" or "unix:/path"
    std::string host;         // a numeric address or a DNS name (resolved off the loop); empty with unix_path
    int port = 6379;
    int database = 0;
    std::string unix_path;    // the socket of a unix: URL
    std::string username;     // Redis 6 ACL user; empty: AUTH with the password alone
    std::string password;     // read from password_file; empty: no AUTH
    std::string key_prefix = "ocspgate:";
    Duration timeout{50};     // each GET or SET; beyond it the lookup goes on as if absent
    Duration max_ttl{3600 * 1000};  // Redis TTL = min(nextUpdate - now, max_ttl)
    // 0: off. Otherwise, on a Redis miss, one instance takes a lease (SET NX PX) to ask the
    // responder and the others poll Redis for its answer for at most this long.
    Duration lease{0};
    bool operator==(const SharedCacheSettings&) const = default;
};

}  // namespace ocspgate::ocsp
