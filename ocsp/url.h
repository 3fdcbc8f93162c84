// Responder URLs: the http:// and https:// locations found in a certificate's Authority
// Information Access (OCSP) and CRL Distribution Points extensions.
//
// Certificates are outside input, and the path goes verbatim into the HTTP request line, so
// the parser is strict: anything that could smuggle bytes into the request (spaces, control
// characters, non-ASCII) or that a responder URL has no business carrying (userinfo) is
// rejected rather than repaired.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ocspgate::ocsp {

struct Url {
    std::string scheme;       // "http" or "https", lower case
    std::string host;         // lower case; an IPv6 literal without its brackets ("::1")
    std::uint16_t port = 0;   // as written, else 80 for http and 443 for https
    std::string path;         // path and query, always starting with '/'; no fragment
    std::string text;         // the URL exactly as given, for log messages
};

// Parses an absolute http(s) URL (the RFC 3986 subset responders use):
//   scheme "://" host [ ":" port ] [ path ] [ "?" query ] [ "#" fragment ]
// host is a DNS name (letters, digits, '-', '.', '_'), a dotted IPv4 address or a bracketed
// IPv6 address. Percent-encoded octets in the path pass through untouched. The fragment is
// dropped: it is never sent to a server.
// Errors: Errc::invalid_argument, "\"TEXT\" is not a valid http:// or https:// URL: REASON",
// for any other scheme, userinfo, an empty or malformed host, a port outside 1..65535, or a
// byte outside printable ASCII (shown as '?' in the message, which goes to logs).
// The one URL parser of the project: conf/ checks configured URLs with it too (and refuses
// a fragment there, since writing one is a mistake).
Result<Url> parse_url(std::string_view text);

// True if `url.host` is an IPv6 literal (it then needs brackets in URLs and Host headers).
bool is_ipv6_literal(const Url& url) noexcept;

// The value of the Host request header for `url` (RFC 9110 §7.2): the host, bracketed if
// IPv6, followed by ":port" only when the port is not the scheme's default.
std::string host_header(const Url& url);

}  // namespace ocspgate::ocsp
