// The answers ocspgate itself gives a SIP client whose request it refuses (RFC 3261
// §8.2.6.2: Via, From, Call-ID and CSeq copied, To copied with a tag added if it has none).
// No I/O.
#pragma once

#include <cstdint>
#include <string>

#include "proxy/sip/message.h"

namespace ocspgate::proxy::sip {

// The response to the refused `partial` message (status 400 or 513, a Warning with the
// reason, Content-Length: 0), or "" when there is nobody to answer: the start line is not a
// request, or the request is an ACK (never answered, RFC 3261 §17.2.1). Headers that did not
// parse before the problem are simply missing from the answer.
std::string refusal_answer(const SipMessage& partial, const SipHeadProblem& problem);

// "503 Service Unavailable" with `Retry-After: retry_after_seconds` for `request`, sent when the
// backend cannot be reached so that a phone fails over to its next server at once (RFC 3261
// §21.5.4, RFC 3263 §4.3) instead of waiting for its transaction timer; "" for what must not be
// answered (a response, an ACK), like refusal_answer.
std::string unavailable_answer(const SipMessage& request, std::uint32_t retry_after_seconds);

}  // namespace ocspgate::proxy::sip
