// Hand-built SIP messages shared by the SIP front's unit tests.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ocspgate::proxy::test {

// A REGISTER with a 0-byte body.
inline const std::string kRegister =
    "REGISTER sip:example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK-1\r\n"
    "From: <sip:alice@example.com>;tag=a1\r\n"
    "To: <sip:alice@example.com>\r\n"
    "Call-ID: reg-1@192.0.2.10\r\n"
    "CSeq: 1 REGISTER\r\n"
    "Contact: <sip:alice@192.0.2.10:5061;transport=tls>\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

// An INVITE with compact headers (v f t i c l) and a 12-byte body that holds a CRLFCRLF on
// purpose: a framer that looked for the end of the message instead of counting would cut it.
inline const std::string kInviteBody = "v=0\r\no=x\r\n\r\n";
inline const std::string kInvite =
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "v: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK-2\r\n"
    "f: <sip:alice@example.com>;tag=a2\r\n"
    "t: <sip:bob@example.com>\r\n"
    "i: call-2@192.0.2.10\r\n"
    "CSeq: 1 INVITE\r\n"
    "c: application/sdp\r\n"
    "l: " + std::to_string(kInviteBody.size()) + "\r\n"
    "\r\n" + kInviteBody;

inline const std::string kOk =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK-3\r\n"
    "From: <sip:bob@example.com>;tag=b3\r\n"
    "To: <sip:alice@example.com>;tag=a3\r\n"
    "Call-ID: bye-3@10.0.0.1\r\n"
    "CSeq: 2 BYE\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

inline std::span<const std::uint8_t> bytes(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

inline std::string text(const std::vector<std::uint8_t>& data) {
    return {data.begin(), data.end()};
}

}  // namespace ocspgate::proxy::test
