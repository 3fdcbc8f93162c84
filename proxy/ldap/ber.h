// The little BER that the LDAP StartTLS front needs (RFC 4511 section 5.1): finding where one
// LDAPMessage ends in a byte stream, reading the few fields that decide what to answer, and
// encoding those answers. No I/O; no general ASN.1.
//
//   LDAPMessage ::= SEQUENCE {
//        messageID       MessageID,            -- INTEGER (0 .. maxInt)
//        protocolOp      CHOICE { bindRequest BindRequest, ... },  -- [APPLICATION n]
//        controls        [0] Controls OPTIONAL }
//
// LDAP allows only the definite-length form of BER (RFC 4511 5.1: "Only the definite form of
// length encoding is used"), so a message's size is known from its first bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ocspgate::proxy::ldap {

// Universal and LDAP application tags, as the whole identifier octet.
inline constexpr std::uint8_t kTagInteger = 0x02;
inline constexpr std::uint8_t kTagOctetString = 0x04;
inline constexpr std::uint8_t kTagEnumerated = 0x0A;
inline constexpr std::uint8_t kTagSequence = 0x30;

enum class FrameStatus {
    complete,   // `size` bytes form one LDAPMessage
    need_more,  // no complete message yet; keep the bytes and wait
    malformed,  // not an LDAPMessage: `error` says why
    too_large,  // its declared size exceeds the limit
};

struct Frame {
    FrameStatus status = FrameStatus::need_more;
    std::size_t size = 0;  // header + content, when complete
    std::string error;
};

// Where the first LDAPMessage in `data` ends. Only the outer SEQUENCE header is checked here,
// so an oversized message is refused as soon as its length octets have arrived.
Frame frame_message(std::span<const std::uint8_t> data, std::size_t max_message_size);

// The parts of one complete LDAPMessage that the front acts on.
struct MessageView {
    std::span<const std::uint8_t> message_id;  // the whole INTEGER TLV, copied into answers
    std::uint8_t operation_tag = 0;            // protocolOp's identifier octet, e.g. 0x63 search
    std::string extended_oid;                  // requestName of an ExtendedRequest, else ""
};

// Reads a framed message; nullopt with `error` set when its inside is not well formed.
std::optional<MessageView> parse_message(std::span<const std::uint8_t> message, std::string& error);

// A TLV with a definite length (short form below 128, long form above).
void append_tlv(std::vector<std::uint8_t>& out, std::uint8_t tag, std::span<const std::uint8_t> content);
std::span<const std::uint8_t> as_bytes(std::string_view text);

}  // namespace ocspgate::proxy::ldap
