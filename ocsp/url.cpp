#include "ocsp/url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>

namespace ocspgate::ocsp {
namespace {

constexpr std::uint16_t http_default_port = 80;
constexpr std::uint16_t https_default_port = 443;
constexpr std::size_t max_port_digits = 5;

// URL bytes that may appear in a log line: a rejected URL must not smuggle control
// characters into the logs through its own error message.
std::string printable(std::string_view text) {
    std::string out(text);
    std::replace_if(out.begin(), out.end(), [](char c) { return c < 0x20 || c > 0x7e; }, '?');
    return out;
}

Error invalid(std::string_view text, std::string_view reason) {
    return make_error(Errc::invalid_argument, "\"" + printable(text) + "\" is not a valid http:// or https:// URL: " +
                                                  std::string(reason));
}

// Printable ASCII without the space: everything else is either illegal in a URL or a way to
// inject bytes into the request line.
bool is_visible_ascii(std::string_view text) noexcept {
    return std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

bool is_host_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_';
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
    return out;
}

std::uint16_t default_port(std::string_view scheme) noexcept {
    return scheme == "https" ? https_default_port : http_default_port;
}

std::optional<std::uint16_t> parse_port(std::string_view digits) noexcept {
    if (digits.empty() || digits.size() > max_port_digits) return std::nullopt;
    unsigned value = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

bool is_ipv6_address(std::string_view host) {
    in6_addr ignored{};
    return inet_pton(AF_INET6, std::string(host).c_str(), &ignored) == 1;
}

// Splits "host[:port]" or "[v6]:port" into `url.host` and `url.port`.
Result<Ok> parse_authority(std::string_view text, std::string_view authority, Url& url) {
    if (authority.find('@') != std::string_view::npos) return invalid(text, "user information (\"user@\") is not allowed");
    std::string_view host = authority;
    std::optional<std::string_view> port_text;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return invalid(text, "unclosed '[' in the host");
        host = authority.substr(1, close - 1);
        const auto after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') return invalid(text, "garbage after the IPv6 host");
        if (!after.empty()) port_text = after.substr(1);
        if (!is_ipv6_address(host)) return invalid(text, "the bracketed host is not an IPv6 address");
    } else {
        const auto colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
        if (host.empty()) return invalid(text, "the host is missing");
        if (!std::all_of(host.begin(), host.end(), is_host_char)) return invalid(text, "invalid host name");
    }
    url.host = lower(host);
    url.port = default_port(url.scheme);
    if (port_text) {
        const auto port = parse_port(*port_text);
        if (!port) return invalid(text, "the port must be a number from 1 to 65535");
        url.port = *port;
    }
    return Ok{};
}

// The request target: what follows the authority, minus the fragment, and never empty.
std::string request_target(std::string_view tail) {
    tail = tail.substr(0, tail.find('#'));
    if (tail.empty()) return "/";
    if (tail.front() == '?') return "/" + std::string(tail);
    return std::string(tail);
}

}  // namespace

Result<Url> parse_url(std::string_view text) {
    if (!is_visible_ascii(text)) {
        return invalid(text, "contains a space, a control character or a non-ASCII byte");
    }
    const auto scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos) return invalid(text, "it does not start with http:// or https://");
    Url url;
    url.scheme = lower(text.substr(0, scheme_end));
    if (url.scheme != "http" && url.scheme != "https") {
        return invalid(text, "scheme \"" + printable(url.scheme) + "\" is not supported");
    }
    const auto rest = text.substr(scheme_end + 3);
    const auto authority_end = std::min(rest.find_first_of("/?#"), rest.size());
    auto authority = parse_authority(text, rest.substr(0, authority_end), url);
    if (!authority) return std::move(authority).error();
    url.path = request_target(rest.substr(authority_end));
    url.text = std::string(text);
    return url;
}

bool is_ipv6_literal(const Url& url) noexcept { return url.host.find(':') != std::string::npos; }

std::string host_header(const Url& url) {
    std::string out = is_ipv6_literal(url) ? "[" + url.host + "]" : url.host;
    if (url.port != default_port(url.scheme)) out += ":" + std::to_string(url.port);
    return out;
}

}  // namespace ocspgate::ocsp
