// The identity headers the SIP front adds to requests toward the backend, and the rewrite
// that adds them. No I/O.
//
// A client must never be able to speak for ocspgate: every header whose name starts with the
// configured prefix (ASCII case-insensitive) is removed from every message the client sends,
// requests and responses alike, whether or not identity headers are enabled. Only the head
// changes; the body and thus Content-Length stay as they were.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/front/front.h"
#include "proxy/sip/message.h"

namespace ocspgate::proxy::sip {

// The header lines, each ending in CRLF, that carry `peer` (names: prefix + Subject, Issuer,
// Serial, Fingerprint, Revocation). A field with an empty value is left out (no client
// certificate; no revocation profile). Control characters in values become '?', so a value
// can never end the header early.
std::string identity_header_block(const PeerIdentity& peer, std::string_view prefix);

// Appends to `out` (the front's output toward the backend) `message` with every header named
// prefix* removed and `block` added after the last remaining header; an empty `block` only
// strips. Folded fields stay as they were written. Requests and responses are treated alike:
// which of them get a block is the caller's choice (SipFront: requests only).
void append_rewritten_message(const SipMessage& message, std::string_view prefix,
                              std::string_view block, std::vector<std::uint8_t>& out);
// The same as a string (tests and fuzzing).
std::string rewrite_message(const SipMessage& message, std::string_view prefix,
                            std::string_view block);

}  // namespace ocspgate::proxy::sip
