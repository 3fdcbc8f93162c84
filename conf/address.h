// Numeric socket addresses for listen and backend keys.
#pragma once

#include <string_view>

#include "conf/config.h"
#include "base/result.h"

namespace ocspgate::conf {

// Parses "A.B.C.D:PORT" or "[IPv6]:PORT" with PORT in 1..65535. Host names are rejected
// (see Address in config.h for why); so are IPv6 zone ids and unbracketed IPv6.
// On failure the Error message is a sentence about `text`, fit for a diagnostic.
Result<Address> parse_address(std::string_view text);

// True when both name the same family, IP address and port (the text may differ).
bool same_endpoint(const Address& a, const Address& b);

}  // namespace ocspgate::conf
