// http:// and https:// URLs for OCSP responders and CRL downloads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ocspgate::conf {

struct HttpUrl {
    bool https = false;
    std::string host;        // name, IPv4 literal, or IPv6 literal without its brackets
    std::uint16_t port = 0;  // explicit, or 80 / 443 from the scheme
    std::string path = "/";  // path and query, starting with '/'; never empty
};

// Parses "http[s]://HOST[:PORT][/PATH][?QUERY]". The scheme is case-insensitive. Rejected,
// with a sentence saying why: other schemes, user info ("user@host"), an empty host, a port
// outside 1..65535, a fragment (never sent, so writing one is a mistake), and spaces or
// control characters. ocsp::parse_url() parses the same URLs at run time; this one exists
// because conf/ sits below ocsp/ and must reject bad URLs at their TOML position.
// Host names are allowed here: AIA URLs in certificates name hosts too, so the OCSP client
// must resolve names anyway.
Result<HttpUrl> parse_http_url(std::string_view text);

}  // namespace ocspgate::conf
