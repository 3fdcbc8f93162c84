#include "proxy/ldap/ber.h"

namespace ocspgate::proxy::ldap {
namespace {

// ExtendedRequest ::= [APPLICATION 23] SEQUENCE { requestName [0] LDAPOID, ... }
constexpr std::uint8_t kTagExtendedRequest = 0x77;
constexpr std::uint8_t kTagRequestName = 0x80;
// High-tag-number form (tag number >= 31) takes more identifier octets; LDAP never uses it.
constexpr std::uint8_t kHighTagNumber = 0x1F;
// Long-form lengths above 4 octets would exceed any message size we accept.
constexpr std::size_t kMaxLengthOctets = 4;
// MessageID ::= INTEGER (0 .. 2147483647): at most 4 content octets (a 5th only for a
// leading zero, which DER would forbid but BER allows).
constexpr std::size_t kMaxMessageIdOctets = 5;

enum class HeaderStatus { ok, need_more, malformed };

struct Header {
    HeaderStatus status = HeaderStatus::need_more;
    std::uint8_t tag = 0;
    std::size_t header_size = 0;
    std::uint64_t content_size = 0;
    std::string error;
};

// Identifier and length octets of the TLV at the start of `data`.
Header read_header(std::span<const std::uint8_t> data) {
    Header h;
    if (data.size() < 2) return h;
    h.tag = data[0];
    if ((h.tag & kHighTagNumber) == kHighTagNumber) {
        h.status = HeaderStatus::malformed;
        h.error = "multi-octet BER tag";
        return h;
    }
    std::uint8_t first = data[1];
    if (first < 0x80) {
        h.status = HeaderStatus::ok;
        h.header_size = 2;
        h.content_size = first;
        return h;
    }
    std::size_t octets = first & 0x7F;
    if (octets == 0) {
        h.status = HeaderStatus::malformed;
        h.error = "indefinite BER length (LDAP allows only definite lengths)";
        return h;
    }
    if (octets > kMaxLengthOctets) {
        h.status = HeaderStatus::malformed;
        h.error = "BER length of more than 4 octets";
        return h;
    }
    if (data.size() < 2 + octets) return h;
    for (std::size_t i = 0; i < octets; ++i) h.content_size = (h.content_size << 8) | data[2 + i];
    h.status = HeaderStatus::ok;
    h.header_size = 2 + octets;
    return h;
}

// One TLV inside a complete message: all its bytes must be present.
struct Element {
    std::uint8_t tag = 0;
    std::span<const std::uint8_t> whole;
    std::span<const std::uint8_t> content;
};

std::optional<Element> read_element(std::span<const std::uint8_t> data, std::string& error) {
    Header h = read_header(data);
    if (h.status == HeaderStatus::malformed) {
        error = h.error;
        return std::nullopt;
    }
    if (h.status == HeaderStatus::need_more || h.content_size > data.size() - h.header_size) {
        error = "BER element runs past the end of its message";
        return std::nullopt;
    }
    auto size = static_cast<std::size_t>(h.content_size);
    return Element{h.tag, data.first(h.header_size + size), data.subspan(h.header_size, size)};
}

}  // namespace

Frame frame_message(std::span<const std::uint8_t> data, std::size_t max_message_size) {
    Frame frame;
    if (data.empty()) return frame;
    if (data[0] != kTagSequence) {
        frame.status = FrameStatus::malformed;
        frame.error = "LDAPMessage does not start with a SEQUENCE";
        return frame;
    }
    Header h = read_header(data);
    if (h.status == HeaderStatus::need_more) return frame;
    if (h.status == HeaderStatus::malformed) {
        frame.status = FrameStatus::malformed;
        frame.error = h.error;
        return frame;
    }
    std::uint64_t total = h.header_size + h.content_size;
    if (total > max_message_size) {
        frame.status = FrameStatus::too_large;
        frame.error = "LDAPMessage of " + std::to_string(total) + " bytes exceeds max_message_size (" +
                      std::to_string(max_message_size) + ")";
        return frame;
    }
    if (data.size() < total) return frame;
    frame.status = FrameStatus::complete;
    frame.size = static_cast<std::size_t>(total);
    return frame;
}

std::optional<MessageView> parse_message(std::span<const std::uint8_t> message, std::string& error) {
    auto outer = read_element(message, error);
    if (!outer) return std::nullopt;
    std::span<const std::uint8_t> rest = outer->content;
    auto id = read_element(rest, error);
    if (!id) return std::nullopt;
    if (id->tag != kTagInteger || id->content.empty() || id->content.size() > kMaxMessageIdOctets ||
        (id->content[0] & 0x80) != 0) {
        error = "messageID is not an INTEGER from 0 to 2147483647";
        return std::nullopt;
    }
    rest = rest.subspan(id->whole.size());
    auto op = read_element(rest, error);
    if (!op) return std::nullopt;
    MessageView view{id->whole, op->tag, {}};
    if (op->tag == kTagExtendedRequest) {
        auto name = read_element(op->content, error);
        if (!name) return std::nullopt;
        if (name->tag != kTagRequestName) {
            error = "ExtendedRequest without requestName";
            return std::nullopt;
        }
        view.extended_oid.assign(name->content.begin(), name->content.end());
    }
    return view;
}

void append_tlv(std::vector<std::uint8_t>& out, std::uint8_t tag, std::span<const std::uint8_t> content) {
    out.push_back(tag);
    std::size_t size = content.size();
    if (size < 0x80) {
        out.push_back(static_cast<std::uint8_t>(size));
    } else {
        std::uint8_t octets = 0;
        for (std::size_t s = size; s != 0; s >>= 8) ++octets;
        out.push_back(static_cast<std::uint8_t>(0x80 | octets));
        for (int shift = (octets - 1) * 8; shift >= 0; shift -= 8)
            out.push_back(static_cast<std::uint8_t>(size >> shift));
    }
    out.insert(out.end(), content.begin(), content.end());
}

std::span<const std::uint8_t> as_bytes(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

}  // namespace ocspgate::proxy::ldap
