// Numeric socket addresses for listen and backend keys.
#pragma once

#include <string_view>

#include "conf/config.h"
#include "base/result.h"

namespace ocspgate::conf {

// Parses "A.B.C.D:PORT" or "[IPv6]:PORT" with PORT in 1..65535; an IPv6 address may carry a
// zone id ("[fe80::1%eth0]:5061", the interface must exist here). Host names and unbracketed
// IPv6 are rejected. On failure the Error message is a sentence about `text`, fit for a
// diagnostic.
Result<Address> parse_address(std::string_view text);

// As parse_address, and also "NAME:PORT" with a DNS name (letters, digits, '-', '_', '.'),
// kept unresolved in Address::host: a backend is resolved when connecting, not here.
Result<Address> parse_backend_address(std::string_view text);

// True when both name the same family, IP address and port (the text may differ).
bool same_endpoint(const Address& a, const Address& b);

}  // namespace ocspgate::conf
