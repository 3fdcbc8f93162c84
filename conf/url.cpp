#include "conf/url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "conf/quote.h"

namespace ocspgate::conf {
namespace {

Error invalid(std::string_view text, std::string_view why) {
    return make_error(Errc::config, fmt::format("{} is not a valid http:// or https:// URL: {}",
                                                quote(text), why));
}

bool has_space_or_control(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char c) {
        auto byte = static_cast<unsigned char>(c);
        return byte <= 0x20 || byte == 0x7f;
    });
}

bool is_host_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

// Fills url.host and url.port from "host", "host:port", "[v6]" or "[v6]:port".
Result<Ok> parse_authority(std::string_view text, std::string_view authority, HttpUrl& url) {
    std::string_view host = authority;
    std::string_view port;
    bool has_port = false;
    if (authority.starts_with('[')) {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos)
            return invalid(text, "missing ']' after the IPv6 address");
        host = authority.substr(1, close - 1);
        std::string_view rest = authority.substr(close + 1);
        if (!rest.empty() && !rest.starts_with(':'))
            return invalid(text, "expected \":PORT\" after ']'");
        has_port = !rest.empty();
        port = has_port ? rest.substr(1) : rest;
        in6_addr scratch{};
        if (inet_pton(AF_INET6, std::string(host).c_str(), &scratch) != 1) {
            return invalid(text, fmt::format("{} is not an IPv6 address", quote(host)));
        }
    } else {
        std::size_t colon = authority.find(':');
        if (colon != authority.rfind(':')) {
            return invalid(text, "an IPv6 address needs brackets, as in \"http://[::1]:8888/\"");
        }
        if (colon != std::string_view::npos) {
            host = authority.substr(0, colon);
            port = authority.substr(colon + 1);
            has_port = true;
        }
        if (!std::all_of(host.begin(), host.end(), is_host_name_char)) {
            return invalid(text, fmt::format("{} is not a host name or address (an IPv6 address "
                                             "needs brackets)",
                                             quote(host)));
        }
    }
    if (host.empty()) return invalid(text, "the host is missing");
    url.host = std::string(host);
    if (has_port) {
        unsigned value = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
            value > 65535) {
            return invalid(text, "the port must be a number from 1 to 65535");
        }
        url.port = static_cast<std::uint16_t>(value);
    }
    return Ok{};
}

std::string lowercase(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

Result<HttpUrl> parse_http_url(std::string_view text) {
    if (has_space_or_control(text))
        return invalid(text, "it contains a space or control character");
    std::size_t scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos)
        return invalid(text, "it does not start with http:// or https://");
    std::string scheme = lowercase(text.substr(0, scheme_end));
    HttpUrl url;
    if (scheme == "http") {
        url.port = 80;
    } else if (scheme == "https") {
        url.https = true;
        url.port = 443;
    } else {
        return invalid(text, fmt::format("scheme {} is not supported", quote(scheme)));
    }
    std::string_view rest = text.substr(scheme_end + 3);
    if (rest.find('#') != std::string_view::npos) {
        return invalid(text, "a fragment (\"#...\") is never sent to the server");
    }
    std::size_t path_start = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, path_start);
    if (authority.find('@') != std::string_view::npos) {
        return invalid(text, "user information (\"user@host\") is not supported");
    }
    if (Result<Ok> parsed = parse_authority(text, authority, url); !parsed) {
        return std::move(parsed).error();
    }
    if (path_start != std::string_view::npos) {
        std::string_view path = rest.substr(path_start);
        url.path = path.starts_with('/') ? std::string(path) : "/" + std::string(path);
    }
    return url;
}

}  // namespace ocspgate::conf
