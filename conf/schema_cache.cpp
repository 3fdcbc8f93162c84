// The schema for [cache] and [cache.shared] (the fleet's shared OCSP response cache).
#include <charconv>
#include <fstream>
#include <iterator>

#include "conf/schema.h"
#include "conf/values.h"

namespace ocspgate::conf {
namespace {

using ocsp::SharedCacheSettings;

constexpr std::size_t max_password_size = 4096;

std::optional<int> number(std::string_view text, int min, int max) {
    int value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) return std::nullopt;
    return value;
}

// "redis://HOST[:PORT][/DB]" (HOST a name, an IPv4 address or [IPv6]) or "unix:/PATH".
// Returns an error sentence, or fills `out`.
std::optional<std::string> parse_url(const std::string& text, SharedCacheSettings& out) {
    if (text.starts_with("rediss://"))
        return "rediss:// (TLS) is not supported: Debian 12's hiredis 0.14 is built without TLS. Reach a "
               "remote Redis through a local TLS tunnel (stunnel or socat, README.md \"Shared cache\") and "
               "point url at the tunnel's local end, e.g. \"redis://127.0.0.1:6380/0\"";
    if (text.starts_with("unix:")) {
        std::string path = text.substr(5);
        if (path.starts_with("//")) path = path.substr(2);  // unix:///run/redis.sock
        if (!path.starts_with("/")) return "a unix: URL names an absolute socket path, e.g. \"unix:/run/redis/redis.sock\"";
        out.unix_path = path;
        return std::nullopt;
    }
    if (!text.starts_with("redis://"))
        return "expected \"redis://HOST:PORT/DB\" or \"unix:/PATH\", got " + quote(text);
    std::string rest = text.substr(8);
    if (rest.find('@') != std::string::npos)
        return "no credentials in the URL: set username and password_file (the password stays out of the "
               "configuration file and the logs)";
    if (auto slash = rest.find('/'); slash != std::string::npos) {
        std::string db = rest.substr(slash + 1);
        rest.resize(slash);
        if (!db.empty()) {
            auto n = number(db, 0, 1 << 20);
            if (!n) return "the database after the host must be a number, got " + quote(db);
            out.database = *n;
        }
    }
    std::string host = rest, port;
    if (rest.starts_with("[")) {
        auto close = rest.find(']');
        if (close == std::string::npos) return "unclosed '[' in " + quote(text);
        host = rest.substr(1, close - 1);
        if (close + 1 < rest.size()) {
            if (rest[close + 1] != ':') return "expected ':PORT' after ']' in " + quote(text);
            port = rest.substr(close + 2);
        }
    } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
    }
    if (host.empty()) return "no host in " + quote(text);
    out.host = host;
    if (!port.empty()) {
        auto n = number(port, 1, 65535);
        if (!n) return "the port must be from 1 to 65535, got " + quote(port);
        out.port = *n;
    }
    return std::nullopt;
}

Field<SharedCacheSettings> url_key() {
    Field<SharedCacheSettings> field;
    field.key = "url";
    field.type = "URL";
    field.default_text = "required";
    field.presence = Presence::required;
    field.doc = "Where the shared Redis (or Valkey) listens: \"redis://HOST:PORT/DB\" (HOST a DNS name, "
                "resolved off the event loop, an IPv4 address or [IPv6]; PORT 6379 and DB 0 when left "
                "out) or \"unix:/PATH\" for a local socket. No TLS (rediss://): Debian 12's hiredis has "
                "none, so a remote Redis is reached through a local TLS tunnel (README.md).";
    field.parse = [](const toml::node& node, SharedCacheSettings& out, Context& context) {
        std::optional<std::string> text = expect_string(node, context);
        if (!text) return;
        if (auto problem = parse_url(*text, out)) return context.error(node, *problem);
        out.url = *text;
    };
    return field;
}

// The password: the file's first line. The file is read when the configuration loads (start,
// reload), so it may be readable by root only.
Field<SharedCacheSettings> password_file_key() {
    Field<SharedCacheSettings> field;
    field.key = "password_file";
    field.type = "file";
    field.default_text = "none (no AUTH)";
    field.doc = "A file whose first line is the Redis password (AUTH, with username if set). Read "
                "when the configuration loads; keep it readable by ocspgate only.";
    field.parse = [](const toml::node& node, SharedCacheSettings& out, Context& context) {
        std::optional<std::string> text = expect_string(node, context);
        if (!text) return;
        auto path = context.resolve(*text);
        std::ifstream in(path, std::ios::binary);
        if (!in) return context.error(node, "cannot read " + path.string());
        std::string content(std::istreambuf_iterator<char>(in), {});
        if (content.size() > max_password_size) return context.error(node, path.string() + " is too large for a password");
        content = content.substr(0, content.find_first_of("\r\n"));
        if (content.empty()) return context.error(node, path.string() + " holds no password on its first line");
        out.password = content;
    };
    return field;
}

struct TextValue {
    bool non_empty = false;
    std::optional<std::string> parse(const toml::node& node, Context& context) const {
        std::optional<std::string> text = expect_string(node, context);
        if (text && non_empty && text->empty()) {
            context.error(node, "must not be empty");
            return std::nullopt;
        }
        return text;
    }
    std::string type() const { return "string"; }
    std::string show(const std::string& value) const { return quote(value); }
};

Section<SharedCacheSettings> make_shared_cache_section() {
    return {
        .title = "[cache.shared]",
        .doc = "A Redis or Valkey shared by a fleet of ocspgate instances: each OCSP response fetched "
               "(good or revoked, validated) is stored there exactly as the responder signed it, and "
               "an instance that misses its own cache asks there before the responder. Whatever is "
               "read is validated like a response just fetched (signature, responder authorisation, "
               "CertID, freshness; no nonce, so profiles with nonce = \"require\" do not use it); an "
               "entry that fails is refused, counted and replaced. A Redis that is down, slow or full "
               "never fails a handshake: the lookup goes on to the responder. Off unless the table is "
               "present; a change needs a restart.",
        .fields = {
            url_key(),
            value_key("username", &SharedCacheSettings::username, TextValue{},
                      "The Redis 6 ACL user for AUTH; empty: AUTH with the password alone."),
            password_file_key(),
            value_key("key_prefix", &SharedCacheSettings::key_prefix, TextValue{true},
                      "Prepended to every key (then \"ocsp:\" and the hex SHA-256 of the CertID), so "
                      "several fleets can share one Redis."),
            value_key("timeout", &SharedCacheSettings::timeout, DurationValue{true},
                      "Longest wait for each GET; beyond it the lookup goes on to the responder as if "
                      "the entry were absent."),
            value_key("max_ttl", &SharedCacheSettings::max_ttl, DurationValue{true},
                      "Longest an entry stays in Redis; each one expires at its nextUpdate or after "
                      "this, whichever comes first."),
            value_key("lease", &SharedCacheSettings::lease, DurationValue{},
                      "Coalescing across the fleet: after a Redis miss, the instance that takes this lease "
                      "(SET NX PX on the entry's key + \":lease\") asks the responder and stores the answer; "
                      "the others poll Redis for it (about ten times per lease) for at most the lease and at "
                      "most half of what is left of the handshake's share, then ask the responder "
                      "themselves. N instances starting at once then send about one query per certificate "
                      "instead of N, at the price of up to one lease of waiting when the holder is slow or "
                      "gone. Set it near the responder's usual latency times a few (e.g. \"200ms\"). "
                      "\"0s\": off, every instance that misses asks the responder."),
        },
        .check = [](const toml::table&, SharedCacheSettings& shared, Context&) { shared.enabled = true; },
    };
}

Section<Cache> make_cache_section() {
    return {
        .title = "[cache]",
        .doc = "Caches beyond one process. The table is optional.",
        .fields = {
            table_key("shared", &Cache::shared, shared_cache_section(),
                      "The fleet's shared OCSP response cache. Absent: none.")
                .with_default_text("none (disabled)"),
        },
        .check = {},
    };
}

}  // namespace

const Section<SharedCacheSettings>& shared_cache_section() {
    static const Section<SharedCacheSettings> section = make_shared_cache_section();
    return section;
}

const Section<Cache>& cache_section() {
    static const Section<Cache> section = make_cache_section();
    return section;
}

}  // namespace ocspgate::conf
