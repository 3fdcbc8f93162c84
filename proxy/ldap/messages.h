// The LDAP messages ocspgate writes itself before TLS (RFC 4511): answers to the client's
// operations, the StartTLS success response and the Notice of Disconnection.
//
//   LDAPResult ::= SEQUENCE {
//        resultCode         ENUMERATED { success (0), protocolError (2), ...,
//                                        confidentialityRequired (13), ... },
//        matchedDN          LDAPDN,
//        diagnosticMessage  LDAPString,
//        referral           [3] Referral OPTIONAL }
//   ExtendedResponse ::= [APPLICATION 24] SEQUENCE {
//        COMPONENTS OF LDAPResult,
//        responseName     [10] LDAPOID OPTIONAL,
//        responseValue    [11] OCTET STRING OPTIONAL }
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace ocspgate::proxy::ldap {

inline constexpr std::string_view kStartTlsOid = "1.3.6.1.4.1.1466.20037";
inline constexpr std::string_view kNoticeOfDisconnectionOid = "1.3.6.1.4.1.1466.20036";

enum class ResultCode : std::uint8_t { success = 0, protocol_error = 2, confidentiality_required = 13, unavailable = 52 };

// protocolOp identifier octets (RFC 4511 section 4.2 onwards).
namespace op {
inline constexpr std::uint8_t bind_request = 0x60;       // [APPLICATION 0]
inline constexpr std::uint8_t unbind_request = 0x42;     // [APPLICATION 2], primitive NULL
inline constexpr std::uint8_t search_request = 0x63;     // [APPLICATION 3]
inline constexpr std::uint8_t abandon_request = 0x50;    // [APPLICATION 16], primitive INTEGER
inline constexpr std::uint8_t extended_request = 0x77;   // [APPLICATION 23]
inline constexpr std::uint8_t extended_response = 0x78;  // [APPLICATION 24]
}  // namespace op

// The response operation that answers `request_tag` (SearchResultDone for a search), or
// nullopt for operations without a response (unbind, abandon) and unknown tags.
std::optional<std::uint8_t> response_tag_for(std::uint8_t request_tag);

// An LDAPMessage carrying an LDAPResult-shaped response. `message_id` is the request's whole
// INTEGER TLV; `response_name` is only written for ExtendedResponse.
std::vector<std::uint8_t> encode_response(std::span<const std::uint8_t> message_id, std::uint8_t response_tag,
                                          ResultCode code, std::string_view diagnostic,
                                          std::string_view response_name = {});

// The unsolicited ExtendedResponse (messageID 0) telling the client the server is about to
// close: resultCode protocolError, responseName 1.3.6.1.4.1.1466.20036 (RFC 4511 4.4.1).
std::vector<std::uint8_t> encode_notice_of_disconnection(std::string_view diagnostic);

}  // namespace ocspgate::proxy::ldap
