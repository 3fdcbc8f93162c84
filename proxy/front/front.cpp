#include "proxy/front/front.h"

namespace ocspgate::proxy {

void append_bytes(std::vector<std::uint8_t>& out, std::string_view text) {
    // Byte pointers, not a char range: inserting chars converted them one element at a time.
    const auto* data = reinterpret_cast<const std::uint8_t*>(text.data());
    out.insert(out.end(), data, data + text.size());
}

std::size_t Front::on_plaintext(std::span<const std::uint8_t> data, FrontOutput& out) {
    out.close_reason = "plaintext before TLS on a TLS-only listener";
    return data.size();
}

}  // namespace ocspgate::proxy
