#include "conf/address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "conf/quote.h"

namespace ocspgate::conf {
namespace {

struct Split {
    std::string_view host;
    std::string_view port;
    int family = AF_INET;
};

Error invalid(std::string_view text, std::string_view why) {
    return make_error(Errc::config, fmt::format("{} is not a valid address: {}", quote(text), why));
}

// Splits "[v6]:port" or "v4:port" without judging the host.
Result<Split> split_host_port(std::string_view text) {
    if (text.starts_with('[')) {
        std::size_t close = text.find(']');
        if (close == std::string_view::npos)
            return invalid(text, "missing ']' after the IPv6 address");
        std::string_view rest = text.substr(close + 1);
        if (!rest.starts_with(':')) return invalid(text, "expected \":PORT\" after ']'");
        return Split{text.substr(1, close - 1), rest.substr(1), AF_INET6};
    }
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return invalid(text, "missing \":PORT\"");
    std::string_view host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) {
        return invalid(text, "an IPv6 address needs brackets, as in \"[::1]:5061\"");
    }
    return Split{host, text.substr(colon + 1), AF_INET};
}

Result<std::uint16_t> parse_port(std::string_view text, std::string_view port) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
        value > 65535) {
        return invalid(text, "the port must be a number from 1 to 65535");
    }
    return static_cast<std::uint16_t>(value);
}

bool looks_like_ipv4(std::string_view host) {
    return std::all_of(host.begin(), host.end(),
                       [](char c) { return c == '.' || (c >= '0' && c <= '9'); });
}

// An IPv6 address with an optional "%zone" (interface name or number): getaddrinfo with
// AI_NUMERICHOST does the zone lookup (if_nametoindex) and never touches DNS.
Result<sockaddr_in6> parse_ipv6(std::string_view text, const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_INET6;
    hints.ai_flags = AI_NUMERICHOST;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
        std::string_view why = host.find('%') == std::string::npos
                                   ? " is not an IPv6 address"
                                   : " is not an IPv6 address with a zone id of an interface of this host";
        return invalid(text, quote(host) + std::string(why));
    }
    sockaddr_in6 v6{};
    std::memcpy(&v6, found->ai_addr, sizeof v6);
    freeaddrinfo(found);
    v6.sin6_port = htons(port);
    return v6;
}

// RFC 1123 host name characters, plus '_' (seen in service names); at most 253 bytes.
bool is_host_name(std::string_view host) {
    if (host.size() > 253 || host.starts_with('.') || host.starts_with('-')) return false;
    return std::all_of(host.begin(), host.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '.' || c == '_';
    });
}

enum class Names { refused, allowed };

Result<Address> parse(std::string_view text, Names names) {
    Result<Split> split = split_host_port(text);
    if (!split) return std::move(split).error();
    Result<std::uint16_t> port = parse_port(text, split->port);
    if (!port) return std::move(port).error();
    if (split->host.empty()) return invalid(text, "the IP address is missing");

    Address address;
    address.text = std::string(text);
    address.port = *port;
    std::string host(split->host);
    if (split->family == AF_INET6) {
        Result<sockaddr_in6> v6 = parse_ipv6(text, host, *port);
        if (!v6) return std::move(v6).error();
        std::memcpy(&address.storage, &*v6, sizeof *v6);
        address.length = sizeof *v6;
        return address;
    }
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    v4.sin_port = htons(*port);
    if (inet_pton(AF_INET, host.c_str(), &v4.sin_addr) != 1) {
        if (looks_like_ipv4(host)) return invalid(text, fmt::format("{} is not an IPv4 address", quote(host)));
        if (names == Names::refused) {
            return invalid(text,
                           "numeric addresses only here (write e.g. \"127.0.0.1:5061\" or "
                           "\"[::1]:5061\")");
        }
        if (!is_host_name(host)) return invalid(text, fmt::format("{} is not a host name", quote(host)));
        address.host = std::move(host);
        return address;
    }
    std::memcpy(&address.storage, &v4, sizeof v4);
    address.length = sizeof v4;
    return address;
}

}  // namespace

Result<Address> parse_address(std::string_view text) { return parse(text, Names::refused); }

Result<Address> parse_backend_address(std::string_view text) { return parse(text, Names::allowed); }

bool same_endpoint(const Address& a, const Address& b) {
    if (!a.host.empty() || !b.host.empty()) return a.host == b.host && a.port == b.port;
    if (a.storage.ss_family != b.storage.ss_family) return false;
    if (a.storage.ss_family == AF_INET) {
        const auto& x = reinterpret_cast<const sockaddr_in&>(a.storage);
        const auto& y = reinterpret_cast<const sockaddr_in&>(b.storage);
        return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
    }
    if (a.storage.ss_family == AF_INET6) {
        const auto& x = reinterpret_cast<const sockaddr_in6&>(a.storage);
        const auto& y = reinterpret_cast<const sockaddr_in6&>(b.storage);
        return x.sin6_port == y.sin6_port && x.sin6_scope_id == y.sin6_scope_id &&
               std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0;
    }
    return false;
}

}  // namespace ocspgate::conf
