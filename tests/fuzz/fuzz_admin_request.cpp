// libFuzzer target: the admin endpoint's request parser (proxy::admin::AdminRequestParser, the code
// the admin server runs on every byte a client sends) over arbitrary chunks (split by the
// first byte, see fuzz_chunks.h).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "fuzz_chunks.h"
#include "proxy/admin/request.h"

using namespace ocspgate;

namespace {

constexpr std::size_t kMaxRequestSize = 1024;  // small, so the 413 path is reached too

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    proxy::admin::AdminRequestParser parser(kMaxRequestSize);
    fuzz::for_each_chunk(std::span<const std::uint8_t>(data, size), [&](std::span<const std::uint8_t> chunk) {
        const auto outcome = parser.feed({reinterpret_cast<const char*>(chunk.data()), chunk.size()});
        if (outcome == proxy::admin::AdminRequestParser::Outcome::complete) {
            // What the router reads: a method name and a path bounded by the request size.
            if (parser.method().empty() || parser.path().size() > kMaxRequestSize) __builtin_trap();
        }
        return outcome == proxy::admin::AdminRequestParser::Outcome::need_more;
    });
    return 0;
}
