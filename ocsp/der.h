// Reading DER element by element, without decoding: where the parts of a signed object lie,
// so that one part can be decoded (or kept as bytes) apart from the rest. The readers check
// the headers only (X.690 §8.1: identifier, definite length, contents inside the parent); what
// the contents mean is for OpenSSL's decoders or the caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace ocspgate::ocsp::der {

// X.690 identifier classes, as the identifier octet's top two bits.
enum class TagClass : std::uint8_t { universal = 0, application = 1, context = 2, private_use = 3 };

// Universal tag numbers read here.
inline constexpr unsigned kBoolean = 1, kInteger = 2, kOctetString = 4, kObject = 6, kEnumerated = 10, kSequence = 16,
                          kUtcTime = 23, kGeneralizedTime = 24;

// One element: its identifier, the whole element and its contents.
struct Tlv {
    TagClass tag_class = TagClass::universal;
    bool constructed = false;
    unsigned tag = 0;
    std::span<const std::uint8_t> whole;
    std::span<const std::uint8_t> content;

    bool is(TagClass c, unsigned t, bool cons) const { return tag_class == c && tag == t && constructed == cons; }
    bool is_sequence() const { return is(TagClass::universal, kSequence, true); }
};

// The element at the start of `in`; nullopt when its header is invalid, has an indefinite
// length or its contents run past `in`. Long-form lengths need not be minimal (BER allows
// them and OpenSSL's decoders accept them); the bytes are kept as they were. Like OpenSSL's,
// a long-form length with nothing after it in `in` is refused, even for empty contents.
std::optional<Tlv> read_tlv(std::span<const std::uint8_t> in);

// The element that makes up all of `in`, with the given identifier.
std::optional<Tlv> read_only(std::span<const std::uint8_t> in, TagClass c, unsigned tag, bool constructed);

// A universal SEQUENCE header for `content_length` octets of contents (minimal DER length).
std::vector<std::uint8_t> sequence_header(std::size_t content_length);

// Whether an INTEGER's contents are a DER (minimal, two's complement) encoding: not empty, no
// leading 0x00 before a clear top bit nor 0xFF before a set one. OpenSSL refuses the others.
bool is_minimal_integer(std::span<const std::uint8_t> content);

// Whether an OBJECT IDENTIFIER's contents are well formed as OpenSSL requires: not empty, the
// last octet ending a subidentifier, no subidentifier starting with a 0x80 padding octet.
bool is_valid_object(std::span<const std::uint8_t> content);

}  // namespace ocspgate::ocsp::der
