// libFuzzer target: the LDAP BER framer and parser on the whole input, then the StartTLS
// front's plaintext phase over arbitrary chunks (split by the first byte, see fuzz_chunks.h).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "conf/config.h"
#include "fuzz_chunks.h"
#include "proxy/ldap/ber.h"
#include "proxy/ldap/front.h"

using namespace ocspgate;

namespace {

constexpr std::size_t kMaxMessageSize = 4096;  // small, so too_large is reached too

void frame_all(std::span<const std::uint8_t> data) {
    while (!data.empty()) {
        proxy::ldap::Frame frame = proxy::ldap::frame_message(data, kMaxMessageSize);
        if (frame.status != proxy::ldap::FrameStatus::complete) return;
        if (frame.size == 0 || frame.size > data.size()) __builtin_trap();  // framer contract
        std::string error;
        (void)proxy::ldap::parse_message(data.first(frame.size), error);
        data = data.subspan(frame.size);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);
    frame_all(input.empty() ? input : input.subspan(1));

    conf::LdapSettings settings;
    settings.max_message_size = kMaxMessageSize;
    proxy::ldap::LdapStartTlsFront front(settings);
    fuzz::for_each_chunk(input, [&](std::span<const std::uint8_t> chunk) {
        proxy::FrontOutput out;
        const std::size_t used = front.on_plaintext(chunk, out);
        if (used > chunk.size()) __builtin_trap();  // cannot consume more than it was given
        return !out.close_reason && !out.start_tls;
    });
    return 0;
}
