#include "ocsp/der.h"

namespace ocspgate::ocsp::der {

std::optional<Tlv> read_tlv(std::span<const std::uint8_t> in) {
    std::size_t at = 0;
    auto next = [&]() -> std::optional<std::uint8_t> {
        if (at >= in.size()) return std::nullopt;
        return in[at++];
    };
    auto id = next();
    if (!id) return std::nullopt;
    Tlv tlv;
    tlv.tag_class = static_cast<TagClass>(*id >> 6);
    tlv.constructed = (*id & 0x20) != 0;
    tlv.tag = *id & 0x1Fu;
    if (tlv.tag == 0x1F) {  // high tag number: base 128, at most 4 octets here
        tlv.tag = 0;
        for (int i = 0;; ++i) {
            auto b = next();
            if (!b || i == 4) return std::nullopt;
            tlv.tag = (tlv.tag << 7) | (*b & 0x7Fu);
            if ((*b & 0x80) == 0) break;
        }
    }
    auto first = next();
    if (!first || *first == 0x80 || *first == 0xFF) return std::nullopt;  // indefinite, reserved
    std::size_t length = *first;
    if ((*first & 0x80) != 0) {
        const int octets = *first & 0x7F;
        length = 0;
        for (int i = 0; i < octets; ++i) {
            auto b = next();
            if (!b || length > (SIZE_MAX >> 8)) return std::nullopt;
            length = (length << 8) | *b;
        }
        // As OpenSSL's asn1_get_length: a long-form length must be followed by at least one
        // octet of its parent, so a long-form empty element cannot end it.
        if (at >= in.size()) return std::nullopt;
    }
    if (length > in.size() - at) return std::nullopt;
    tlv.whole = in.first(at + length);
    tlv.content = tlv.whole.subspan(at);
    return tlv;
}

std::optional<Tlv> read_only(std::span<const std::uint8_t> in, TagClass c, unsigned tag, bool constructed) {
    auto tlv = read_tlv(in);
    if (!tlv || tlv->whole.size() != in.size() || !tlv->is(c, tag, constructed)) return std::nullopt;
    return tlv;
}

std::vector<std::uint8_t> sequence_header(std::size_t content_length) {
    std::vector<std::uint8_t> out{0x30};
    if (content_length < 0x80) {
        out.push_back(static_cast<std::uint8_t>(content_length));
        return out;
    }
    std::vector<std::uint8_t> octets;
    for (std::size_t n = content_length; n != 0; n >>= 8) octets.insert(octets.begin(), static_cast<std::uint8_t>(n));
    out.push_back(static_cast<std::uint8_t>(0x80 | octets.size()));
    out.insert(out.end(), octets.begin(), octets.end());
    return out;
}

bool is_minimal_integer(std::span<const std::uint8_t> content) {
    if (content.empty()) return false;
    if (content.size() == 1) return true;
    if (content[0] == 0x00 && (content[1] & 0x80) == 0) return false;
    if (content[0] == 0xFF && (content[1] & 0x80) != 0) return false;
    return true;
}

bool is_valid_object(std::span<const std::uint8_t> content) {
    if (content.empty() || (content.back() & 0x80) != 0) return false;
    bool starts_subidentifier = true;
    for (std::uint8_t b : content) {
        if (starts_subidentifier && b == 0x80) return false;
        starts_subidentifier = (b & 0x80) == 0;
    }
    return true;
}

}  // namespace ocspgate::ocsp::der
