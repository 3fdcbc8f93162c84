#include "proxy/ldap/messages.h"

#include "proxy/ldap/ber.h"

namespace ocspgate::proxy::ldap {
namespace {

constexpr std::uint8_t kTagResponseName = 0x8A;  // [10] primitive
// messageID 0 as a whole INTEGER TLV: only unsolicited notifications use it.
constexpr std::uint8_t kMessageIdZero[] = {kTagInteger, 0x01, 0x00};

}  // namespace

std::optional<std::uint8_t> response_tag_for(std::uint8_t request_tag) {
    switch (request_tag) {
        case op::bind_request: return 0x61;      // BindResponse
        case op::search_request: return 0x65;    // SearchResultDone
        case 0x66: return 0x67;                  // ModifyRequest -> ModifyResponse
        case 0x68: return 0x69;                  // AddRequest -> AddResponse
        case 0x4A: return 0x6B;                  // DelRequest (primitive LDAPDN) -> DelResponse
        case 0x6C: return 0x6D;                  // ModifyDNRequest -> ModifyDNResponse
        case 0x6E: return 0x6F;                  // CompareRequest -> CompareResponse
        case op::extended_request: return op::extended_response;
        default: return std::nullopt;
    }
}

std::vector<std::uint8_t> encode_response(std::span<const std::uint8_t> message_id, std::uint8_t response_tag,
                                          ResultCode code, std::string_view diagnostic,
                                          std::string_view response_name) {
    std::vector<std::uint8_t> result;
    const std::uint8_t code_octet[] = {static_cast<std::uint8_t>(code)};
    append_tlv(result, kTagEnumerated, code_octet);
    append_tlv(result, kTagOctetString, {});  // matchedDN: empty
    append_tlv(result, kTagOctetString, as_bytes(diagnostic));
    if (!response_name.empty()) append_tlv(result, kTagResponseName, as_bytes(response_name));
    std::vector<std::uint8_t> body(message_id.begin(), message_id.end());
    append_tlv(body, response_tag, result);
    std::vector<std::uint8_t> message;
    append_tlv(message, kTagSequence, body);
    return message;
}

std::vector<std::uint8_t> encode_notice_of_disconnection(std::string_view diagnostic) {
    return encode_response(kMessageIdZero, op::extended_response, ResultCode::protocol_error, diagnostic,
                           kNoticeOfDisconnectionOid);
}

}  // namespace ocspgate::proxy::ldap
